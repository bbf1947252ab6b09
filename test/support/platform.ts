import type { KubeClient } from "@tessera/kube";
import { waitFor } from "@tessera/kube";
import type { V1Pod } from "@kubernetes/client-node";
import { API_VERSION, labels, type Cluster, type ClusterPhase, type Component } from "@tessera/api";
import {
  DEFAULT_ADDON_NAMESPACE,
  findAddons,
  installAddon,
  installCrds,
  installTenantRoles,
  loadAddon,
} from "@tessera/addons";
import { BUNDLED_ADDONS } from "@tessera/addons";
import { OperatorProcess } from "@tessera/playground";
import { TestCluster } from "@tessera/testing";
import { hostletNode } from "@tessera/hostlet/testing";
import type { HostletProcess } from "@tessera/hostlet";

export interface PlatformOptions {
  /** Addon directories to install (default: every bundled addon). */
  addons?: string[];
  /** Run pods on a hostlet node (default true); without, pods stay Pending. */
  hostlet?: boolean;
  /** Path of an apiserver audit log, to see who asks the apiserver for what. */
  auditLog?: string;
  /** The operator's leader-election lease (default 3 s, so kill-and-restart tests are quick). */
  leaseDurationSeconds?: number;
}

/** The cluster reports `phase` for its current spec (not a phase left from before the last change). */
export function isInPhase(cluster: Cluster, phase: ClusterPhase): boolean {
  return cluster.status?.phase === phase && cluster.status.observedGeneration === cluster.metadata.generation;
}

/**
 * Tessera on a real, throwaway control plane: CRDs, addons, the operator as
 * a process and (by default) a hostlet node, for end-to-end tests.
 */
export class TestPlatform {
  private constructor(
    readonly cluster: TestCluster<HostletProcess>,
    readonly operator: OperatorProcess,
  ) {}

  static async start(options: PlatformOptions = {}): Promise<TestPlatform> {
    const withNode = options.hostlet ?? true;
    const cluster = await TestCluster.start({
      controllerManager: true,
      ...(options.auditLog ? { auditLog: options.auditLog } : {}),
      ...(withNode ? { node: hostletNode({ restartBackoffMs: 1000 }) } : {}),
    });
    try {
      await cluster.client.apply(
        { apiVersion: "v1", kind: "Namespace", metadata: { name: DEFAULT_ADDON_NAMESPACE } },
        "tessera-test",
      );
      await installCrds(cluster.client);
      await installTenantRoles(cluster.client);
      for (const dir of options.addons ?? findAddons(BUNDLED_ADDONS))
        await installAddon(cluster.client, loadAddon(dir));
      // A short lease keeps kill-and-restart tests quick; production keeps the 15 s default.
      const operator = await OperatorProcess.start({
        kubeconfig: cluster.kubeconfig,
        logDir: cluster.dir,
        leaseDurationSeconds: options.leaseDurationSeconds ?? 3,
      });
      return new TestPlatform(cluster, operator);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  get client(): KubeClient {
    return this.cluster.client;
  }

  get hostlet(): HostletProcess {
    return this.cluster.node;
  }

  async component(namespace: string, name: string): Promise<Component> {
    return this.client.get<Component>({ apiVersion: API_VERSION, kind: "Component", namespace, name });
  }

  /** A component's pods that are not being deleted, by name. */
  async instances(namespace: string, component: string): Promise<V1Pod[]> {
    const list = await this.client.list<V1Pod>("v1", "Pod", {
      namespace,
      labelSelector: `${labels.component}=${component}`,
    });
    return list.items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  }

  /** `kubectl apply` of a manifest; a refusal fails with kubectl's message. */
  async apply(manifest: string): Promise<void> {
    const result = await this.cluster.kubectl(["apply", "-f", "-"], { input: manifest });
    if (result.code !== 0) throw new Error(`kubectl apply failed (exit ${result.code}): ${result.stderr}`);
  }

  async waitForPhase(
    namespace: string,
    name: string,
    phase: ClusterPhase,
    timeoutMs = 180_000,
    intervalMs = 250,
  ): Promise<Cluster> {
    return waitFor(
      async () => {
        const cluster = await this.client.find<Cluster>({
          apiVersion: API_VERSION,
          kind: "Cluster",
          namespace,
          name,
        });
        return cluster && isInPhase(cluster, phase) ? cluster : undefined;
      },
      { description: `cluster ${namespace}/${name} to be ${phase}`, timeoutMs, intervalMs },
    ).catch((error: Error) => {
      error.message += `\noperator log:\n${this.operator.logTail(20)}`;
      throw error;
    });
  }

  async stop(): Promise<void> {
    await this.operator.stop();
    await this.cluster.stop();
  }
}
