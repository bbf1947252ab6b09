import { mkdtempSync, rmSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1ServiceAccount } from "@kubernetes/client-node";
import { KubeClient, loadKubeConfig, waitFor } from "@tessera/kube";
import { installHostletPrerequisites } from "@tessera/hostlet";
import { ControlPlane } from "./control-plane.js";
import { HostletProcess } from "./hostlet-process.js";
import { runCommand, type CommandOptions, type CommandResult } from "@tessera/base";
import { kubeBinDir } from "./paths.js";

export interface TestHostletOptions {
  /** CrashLoopBackOff base delay in ms (the kubelet's 10 s makes restart tests slow). */
  restartBackoffMs?: number;
}

export interface TestClusterOptions {
  controllerManager?: boolean;
  scheduler?: boolean;
  serviceCIDR?: string;
  /** Run a hostlet node (implies controller-manager and scheduler) with its own pod and service ranges. */
  hostlet?: boolean | TestHostletOptions;
}

/** Where tests put their state; the test runner points it at a per-run directory it checks afterwards. */
export function testRoot(): string {
  const root = process.env.TESSERA_TEST_ROOT ?? tmpdir();
  mkdirSync(root, { recursive: true });
  return root;
}

/** Machine-wide, so test runs of different checkouts never share a slot. */
const SLOT_DIR = join(tmpdir(), "tessera-hostlet-slots");
const SLOTS = 50;

/**
 * A network slot for one hostlet on this machine: node name, pod CIDR and
 * service CIDR that no other suite running at the same time uses. Taken
 * with an atomic mkdir; a slot whose owner process is gone is reclaimed.
 */
export interface NetworkSlot {
  index: number;
  nodeName: string;
  podCIDR: string;
  serviceCIDR: string;
  release(): void;
}

export function acquireNetworkSlot(): NetworkSlot {
  mkdirSync(SLOT_DIR, { recursive: true });
  for (let index = 0; index < SLOTS; index++) {
    const dir = join(SLOT_DIR, String(index));
    try {
      mkdirSync(dir);
    } catch {
      if (ownerAlive(dir)) continue;
      rmSync(dir, { recursive: true, force: true });
      try {
        mkdirSync(dir);
      } catch {
        continue;
      }
    }
    writeFileSync(join(dir, "owner"), String(process.pid));
    return {
      index,
      nodeName: `tessera-node-${index}`,
      podCIDR: `127.${130 + index}.0.0/16`,
      serviceCIDR: `127.${200 + index}.0.0/16`,
      release: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  throw new Error(`all ${SLOTS} hostlet network slots in ${SLOT_DIR} are taken`);
}

function ownerAlive(dir: string): boolean {
  try {
    process.kill(Number(readFileSync(join(dir, "owner"), "utf8")), 0);
    return true;
  } catch (error) {
    // A slot being created right now has no owner file yet: treat it as taken.
    return (
      (error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "EPERM"
    );
  }
}

/** The hostlet node of a TestCluster: a child process tests can stop, restart, kill and inject faults through. */
export type TestHostlet = HostletProcess;

/**
 * A throwaway real control plane for one test suite (an envtest
 * equivalent): its own etcd and kube-apiserver on free ports in a fresh
 * directory, removed with every process on `stop()`. With `hostlet`, also
 * controller-manager, scheduler and a hostlet node running pods.
 */
export class TestCluster {
  private namespaces = 0;

  private constructor(
    readonly dir: string,
    readonly plane: ControlPlane,
    readonly client: KubeClient,
    private readonly node?: TestHostlet,
    private readonly slot?: NetworkSlot,
  ) {}

  static async start(options: TestClusterOptions = {}): Promise<TestCluster> {
    const dir = mkdtempSync(join(testRoot(), "tessera-test-"));
    let plane: ControlPlane | undefined;
    let client: KubeClient | undefined;
    let node: TestHostlet | undefined;
    const slot = options.hostlet ? acquireNetworkSlot() : undefined;
    try {
      const { hostlet, ...planeOptions } = options;
      plane = await ControlPlane.start({
        dir,
        unsafeEtcdNoFsync: true,
        ...planeOptions,
        ...(slot ? { controllerManager: true, scheduler: true, serviceCIDR: slot.serviceCIDR } : {}),
      });
      client = new KubeClient(loadKubeConfig(plane.adminKubeconfigPath));
      if (slot) {
        const settings = typeof hostlet === "object" ? hostlet : {};
        node = await startTestHostlet(dir, plane, client, slot, settings);
      }
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

  /** The hostlet node; only for clusters started with `hostlet`. */
  get hostlet(): TestHostlet {
    if (!this.node) throw new Error("this TestCluster was started without a hostlet");
    return this.node;
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
    await this.node?.cleanup();
    this.slot?.release();
    this.client.close();
    await this.plane.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function startTestHostlet(
  dir: string,
  plane: ControlPlane,
  client: KubeClient,
  slot: NetworkSlot,
  settings: TestHostletOptions,
): Promise<TestHostlet> {
  await installHostletPrerequisites(client, { soleNode: slot.nodeName });
  const node = new HostletProcess(
    {
      nodeName: slot.nodeName,
      kubeconfig: await plane.writeKubeconfig(join(dir, "hostlet.kubeconfig"), {
        user: `system:node:${slot.nodeName}`,
        groups: ["system:nodes"],
      }),
      stateDir: join(dir, "hostlet"),
      caCertPath: plane.caCertPath,
      caKeyPath: join(dir, "pki", "ca.key"),
      podCIDR: slot.podCIDR,
      serviceCIDR: slot.serviceCIDR,
      logFile: join(dir, "logs", "hostlet.log"),
      restartBackoffMs: settings.restartBackoffMs,
    },
    client,
  );
  try {
    await node.start();
  } catch (error) {
    await node.cleanup();
    throw error;
  }
  return node;
}
