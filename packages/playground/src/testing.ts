import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient, loadKubeConfig } from "@tessera/kube";
import { ControlPlane } from "./control-plane.js";
import { runCommand, type CommandOptions, type CommandResult } from "./command.js";
import { kubeBinDir } from "./paths.js";

export interface TestClusterOptions {
  controllerManager?: boolean;
  scheduler?: boolean;
  serviceCIDR?: string;
}

/** Where tests put their state; the test runner points it at a per-run directory it checks afterwards. */
export function testRoot(): string {
  const root = process.env.TESSERA_TEST_ROOT ?? tmpdir();
  mkdirSync(root, { recursive: true });
  return root;
}

/**
 * A throwaway real control plane for one test suite (an envtest
 * equivalent): its own etcd and kube-apiserver on free ports in a fresh
 * directory, removed with every process on `stop()`.
 */
export class TestCluster {
  private namespaces = 0;

  private constructor(
    readonly dir: string,
    readonly plane: ControlPlane,
    readonly client: KubeClient,
  ) {}

  static async start(options: TestClusterOptions = {}): Promise<TestCluster> {
    const dir = mkdtempSync(join(testRoot(), "tessera-test-"));
    let plane: ControlPlane | undefined;
    try {
      plane = await ControlPlane.start({ dir, unsafeEtcdNoFsync: true, ...options });
      const client = new KubeClient(loadKubeConfig(plane.adminKubeconfigPath));
      return new TestCluster(dir, plane, client);
    } catch (error) {
      await plane?.stop();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get kubeconfig(): string {
    return this.plane.adminKubeconfigPath;
  }

  /** A new client (its own connections), e.g. to simulate a second process. */
  newClient(): KubeClient {
    return new KubeClient(loadKubeConfig(this.kubeconfig));
  }

  kubectl(args: string[], options: CommandOptions = {}): Promise<CommandResult> {
    return runCommand(join(kubeBinDir(), "kubectl"), ["--kubeconfig", this.kubeconfig, ...args], options);
  }

  /** Creates a uniquely named namespace. */
  async createNamespace(prefix = "test"): Promise<string> {
    const name = `${prefix}-${++this.namespaces}-${Math.random().toString(36).slice(2, 7)}`;
    await this.client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
    return name;
  }

  async stop(): Promise<void> {
    this.client.close();
    await this.plane.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
