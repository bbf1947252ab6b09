import type {
  V1ConfigMap,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Secret,
} from "@kubernetes/client-node";
import type { KubeClient, KubernetesObject } from "@tessera/kube";

/**
 * Reads the ConfigMaps, Secrets and claims that pods reference, with a
 * short cache so one pod start does not fetch the same object many times.
 * The node identity may only read objects referenced by its own pods, so
 * reads are by name, never lists.
 */
export class ObjectSource {
  private readonly cache = new Map<string, { at: number; value: Promise<KubernetesObject | undefined> }>();

  constructor(
    private readonly client: KubeClient,
    private readonly ttlMs = 1000,
  ) {}

  private read<T extends KubernetesObject>(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    const key = `${kind}/${namespace ?? ""}/${name}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value as Promise<T | undefined>;
    const value = this.client.find<T>({ apiVersion: "v1", kind, namespace, name });
    this.cache.set(key, { at: Date.now(), value });
    value.catch(() => this.cache.delete(key));
    if (this.cache.size > 2048) this.cache.clear();
    return value;
  }

  getConfigMap = (namespace: string, name: string) => this.read<V1ConfigMap>("ConfigMap", namespace, name);
  getSecret = (namespace: string, name: string) => this.read<V1Secret>("Secret", namespace, name);
  getClaim = (namespace: string, name: string) =>
    this.read<V1PersistentVolumeClaim>("PersistentVolumeClaim", namespace, name);
  getVolume = (name: string) => this.read<V1PersistentVolume>("PersistentVolume", undefined, name);
}
