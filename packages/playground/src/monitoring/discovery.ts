import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { V1Pod } from "@kubernetes/client-node";
import { MANAGED_BY, labels } from "@tessera/api";
import { Informer, KubeClient, loadKubeConfig } from "@tessera/kube";

/** The name Prometheus's Kubernetes discovery gives a pod label or annotation. */
export function podMetaLabel(kind: "label" | "annotation", key: string): string {
  return `__meta_kubernetes_pod_${kind}_${key.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}

/** One target group of Prometheus's HTTP service discovery. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/**
 * A pod as Prometheus's Kubernetes pod discovery describes it (the same
 * `__meta_kubernetes_*` labels), so one set of relabeling rules serves both
 * this discovery and `kubernetes_sd_configs`.
 */
export function podTargetGroup(pod: V1Pod): TargetGroup | undefined {
  const ip = pod.status?.podIP;
  if (!ip) return undefined;
  const meta: Record<string, string> = {
    __meta_kubernetes_namespace: pod.metadata?.namespace ?? "",
    __meta_kubernetes_pod_name: pod.metadata?.name ?? "",
    __meta_kubernetes_pod_ip: ip,
    __meta_kubernetes_pod_phase: pod.status?.phase ?? "",
  };
  for (const [key, value] of Object.entries(pod.metadata?.labels ?? {}))
    meta[podMetaLabel("label", key)] = value;
  for (const [key, value] of Object.entries(pod.metadata?.annotations ?? {}))
    meta[podMetaLabel("annotation", key)] = value;
  return { targets: [ip], labels: meta };
}

/**
 * Discovery of Tessera's pods through the apiserver, served to Prometheus
 * over HTTP service discovery: Debian's Prometheus is built without the
 * Kubernetes discovery, so this watch stands in for it. It reads pods with
 * the identity of the kubeconfig it is given, so RBAC bounds what it sees.
 */
export class PodDiscovery {
  private constructor(
    private readonly client: KubeClient,
    private readonly informer: Informer<V1Pod>,
    private readonly server: Server,
  ) {}

  static async start(kubeconfig: string): Promise<PodDiscovery> {
    const client = new KubeClient(loadKubeConfig(kubeconfig));
    const informer = new Informer<V1Pod>(client, {
      apiVersion: "v1",
      kind: "Pod",
      labelSelector: `${labels.managedBy}=${MANAGED_BY}`,
    });
    informer.start();
    const server = createServer((req, res) => {
      if (req.url !== "/targets") return void res.writeHead(404).end();
      // Until the first list arrives, an error keeps Prometheus's previous targets rather than emptying them.
      if (!informer.hasSynced) return void res.writeHead(503).end("pods not listed yet");
      const groups = informer.list().flatMap((pod) => podTargetGroup(pod) ?? []);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(groups));
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
    } catch (error) {
      await informer.stop();
      client.close();
      throw error;
    }
    return new PodDiscovery(client, informer, server);
  }

  /** The URL Prometheus's `http_sd_configs` reads. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/targets`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    await this.informer.stop();
    this.client.close();
  }
}
