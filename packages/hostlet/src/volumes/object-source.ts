import type {
  V1ConfigMap,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Secret,
} from "@kubernetes/client-node";
import type { KubeClient, KubernetesObject } from "@tessera/kube";

/**
 * Reads the ConfigMaps, Secrets and claims that pods reference. Concurrent
 * reads of one object share a request (a pod start reads the same object for
 * several volumes and variables), but a finished read is never reused: a pod
 * started just after its ConfigMap changed must see the new content, or its
 * process would run with the old configuration under the new config hash.
 * The node identity may only read objects referenced by its own pods, so
 * reads are by name, never lists.
 */
export class ObjectSource {
  private readonly inflight = new Map<string, Promise<KubernetesObject | undefined>>();

  constructor(private readonly client: KubeClient) {}

  private read<T extends KubernetesObject>(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    const key = `${kind}/${namespace ?? ""}/${name}`;
    const pending = this.inflight.get(key);
    if (pending) return pending as Promise<T | undefined>;
    const value = this.client.find<T>({ apiVersion: "v1", kind, namespace, name });
    this.inflight.set(key, value);
    void value.finally(() => this.inflight.delete(key)).catch(() => undefined);
    return value;
  }

  getConfigMap = (namespace: string, name: string) => this.read<V1ConfigMap>("ConfigMap", namespace, name);
  getSecret = (namespace: string, name: string) => this.read<V1Secret>("Secret", namespace, name);
  getClaim = (namespace: string, name: string) =>
    this.read<V1PersistentVolumeClaim>("PersistentVolumeClaim", namespace, name);
  getVolume = (name: string) => this.read<V1PersistentVolume>("PersistentVolume", undefined, name);
}
