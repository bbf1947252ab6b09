import { request, type RequestOptions } from "node:https";
import type { V1Node } from "@kubernetes/client-node";
import type { KubeClient } from "@tessera/kube";

export interface IsolateOptions {
  /** Also refuse kubelet exec and logs for the pod, as if its node were unreachable. */
  refuseKubeletApi?: boolean;
}

/**
 * Fault injection on a hostlet node, for chaos tests: talks to the
 * kubelet API of the node running the pod with the caller's kubeconfig
 * credentials (they must belong to group system:masters).
 */
export class FaultClient {
  private constructor(
    private readonly client: KubeClient,
    private readonly port: number,
    private readonly host: string,
  ) {}

  static async forNode(client: KubeClient, nodeName: string): Promise<FaultClient> {
    const node = await client.get<V1Node>({ apiVersion: "v1", kind: "Node", name: nodeName });
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
    const host = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    if (!port || !host) throw new Error(`node ${nodeName} has no kubelet endpoint`);
    return new FaultClient(client, port, host);
  }

  /** SIGKILLs every process of the container (it restarts per the pod's restart policy). */
  killContainer(namespace: string, pod: string, container?: string): Promise<string> {
    return this.post(namespace, pod, "kill", container ? { container } : {});
  }

  /** Freezes every process of the pod (cgroup freezer, or SIGSTOP where there is none). */
  freeze(namespace: string, pod: string): Promise<string> {
    return this.post(namespace, pod, "freeze");
  }

  thaw(namespace: string, pod: string): Promise<string> {
    return this.post(namespace, pod, "thaw");
  }

  /** Cuts the pod off the network: nothing reaches it (directly or through services) and it reaches nothing. */
  isolate(namespace: string, pod: string, options: IsolateOptions = {}): Promise<string> {
    return this.post(namespace, pod, "isolate", options.refuseKubeletApi ? { refuseKubeletApi: "true" } : {});
  }

  restore(namespace: string, pod: string): Promise<string> {
    return this.post(namespace, pod, "restore");
  }

  private async post(namespace: string, pod: string, action: string, query: Record<string, string> = {}) {
    const params = new URLSearchParams(query).toString();
    const options: RequestOptions = {
      host: this.host,
      port: this.port,
      method: "POST",
      path: `/faults/${encodeURIComponent(namespace)}/${encodeURIComponent(pod)}/${action}${params ? `?${params}` : ""}`,
      timeout: 30_000,
    };
    await this.client.kubeConfig.applyToHTTPSOptions(options);
    return new Promise<string>((resolve, reject) => {
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8").trim();
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${action} ${namespace}/${pod}: ${text}`));
          else resolve(text);
        });
      });
      req.on("timeout", () => req.destroy(new Error(`${action} ${namespace}/${pod}: timed out`)));
      req.on("error", reject);
      req.end();
    });
  }
}
