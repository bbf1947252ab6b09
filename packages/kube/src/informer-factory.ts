import type { KubeClient, KubernetesObject } from "./client.js";
import { Informer, type InformerOptions } from "./informer.js";
import type { Logger } from "./logger.js";

/** Index of every informer created by the factory: owner UID → objects it owns. */
export const OWNER_INDEX = "owner";

type Selection = Omit<InformerOptions, "apiVersion" | "kind" | "logger">;

/**
 * Shares one informer per resource type and selection between controllers,
 * so a process lists and watches each type once.
 */
export class InformerFactory {
  private readonly informers = new Map<string, Informer<KubernetesObject>>();

  constructor(
    private readonly client: KubeClient,
    private readonly logger?: Logger,
    private readonly defaults: Selection = {},
  ) {}

  get<T extends KubernetesObject>(apiVersion: string, kind: string, selection: Selection = {}): Informer<T> {
    const options = { ...this.defaults, ...selection };
    const key = JSON.stringify([
      apiVersion,
      kind,
      options.namespace,
      options.labelSelector,
      options.fieldSelector,
    ]);
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new Informer(this.client, { apiVersion, kind, ...options, logger: this.logger });
      informer.addIndex(OWNER_INDEX, (o) => (o.metadata?.ownerReferences ?? []).map((ref) => ref.uid));
      this.informers.set(key, informer);
    }
    return informer as unknown as Informer<T>;
  }

  start(): void {
    for (const informer of this.informers.values()) informer.start();
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
