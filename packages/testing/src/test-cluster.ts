import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { V1ServiceAccount } from "@kubernetes/client-node";
import { runCommand, type CommandOptions, type CommandResult } from "@tessera/base";
import { ControlPlane, kubeBinDir } from "@tessera/control-plane";
import { KubeClient, loadKubeConfig, waitFor } from "@tessera/kube";
import { acquireNetworkSlot, testRoot, type NetworkSlot } from "./network-slot.js";

/** A node a TestCluster runs (e.g. the hostlet): started by its factory, cleaned up with the cluster. */
export interface TestNode {
  cleanup(): Promise<void>;
}

/** What a node needs from the cluster it joins; `slot` gives it pod and service ranges no other suite uses. */
export interface TestNodeContext {
  dir: string;
  plane: ControlPlane;
  client: KubeClient;
  slot: NetworkSlot;
}

export type TestNodeFactory<N extends TestNode> = (context: TestNodeContext) => Promise<N>;

export interface TestClusterOptions<N extends TestNode> {
  controllerManager?: boolean;
  scheduler?: boolean;
  serviceCIDR?: string;
  /** Path of an apiserver audit log (see ControlPlaneOptions.auditLog). */
  auditLog?: string;
  /** Run a node (implies controller-manager and scheduler) with its own pod and service ranges. */
  node?: TestNodeFactory<N>;
}

/**
 * A throwaway real control plane for one test suite (an envtest
 * equivalent): its own etcd and kube-apiserver on free ports in a fresh
 * directory, removed with every process on `stop()`. With a `node`, also
 * controller-manager, scheduler and that node running pods.
 */
export class TestCluster<N extends TestNode = TestNode> {
  private namespaces = 0;

  private constructor(
    readonly dir: string,
    readonly plane: ControlPlane,
    readonly client: KubeClient,
    private readonly runningNode?: N,
    private readonly slot?: NetworkSlot,
  ) {}

  static async start<N extends TestNode = TestNode>(
    options: TestClusterOptions<N> = {},
  ): Promise<TestCluster<N>> {
    const dir = mkdtempSync(join(testRoot(), "tessera-test-"));
    let plane: ControlPlane | undefined;
    let client: KubeClient | undefined;
    let node: N | undefined;
    const slot = options.node ? acquireNetworkSlot() : undefined;
    try {
      const { node: startNode, ...planeOptions } = options;
      plane = await ControlPlane.start({
        dir,
        unsafeEtcdNoFsync: true,
        ...planeOptions,
        ...(slot ? { controllerManager: true, scheduler: true, serviceCIDR: slot.serviceCIDR } : {}),
      });
      client = new KubeClient(loadKubeConfig(plane.adminKubeconfigPath));
      if (slot && startNode) node = await startNode({ dir, plane, client, slot });
      return new TestCluster(dir, plane, client, node, slot);
    } catch (error) {
      await node?.cleanup();
      slot?.release();
      client?.close();
      await plane?.stop();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get kubeconfig(): string {
    return this.plane.adminKubeconfigPath;
  }

  /** The node; only for clusters started with one. */
  get node(): N {
    if (!this.runningNode) throw new Error("this TestCluster was started without a node");
    return this.runningNode;
  }

  /** A new client (its own connections), e.g. to simulate a second process. */
  newClient(): KubeClient {
    return new KubeClient(loadKubeConfig(this.kubeconfig));
  }

  kubectl(args: string[], options: CommandOptions = {}): Promise<CommandResult> {
    return runCommand(join(kubeBinDir(), "kubectl"), ["--kubeconfig", this.kubeconfig, ...args], options);
  }

  /**
   * Creates a uniquely named namespace. With a controller-manager, waits for
   * its default ServiceAccount token, without which pods are rejected.
   */
  async createNamespace(prefix = "test"): Promise<string> {
    const name = `${prefix}-${++this.namespaces}-${Math.random().toString(36).slice(2, 7)}`;
    await this.client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
    if (this.plane.options.controllerManager) {
      await waitFor(
        async () => {
          const account = await this.client.find<V1ServiceAccount>({
            apiVersion: "v1",
            kind: "ServiceAccount",
            namespace: name,
            name: "default",
          });
          return (account?.secrets?.length ?? 0) > 0;
        },
        { description: `the default service account token in ${name}`, timeoutMs: 30_000 },
      );
    }
    return name;
  }

  async stop(): Promise<void> {
    await this.runningNode?.cleanup();
    this.slot?.release();
    this.client.close();
    await this.plane.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
