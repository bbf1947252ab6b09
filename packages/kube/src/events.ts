import type { CoreV1Event } from "@kubernetes/client-node";
import type { KubeClient, KubernetesObject } from "./client.js";
import { errorMessage } from "./errors.js";
import type { Logger } from "./logger.js";

export type EventType = "Normal" | "Warning";

const MAX_MESSAGE = 1024;

/**
 * Records core/v1 Events on objects, the way `kubectl describe` shows them.
 * Repeats of the same reason and message on the same object bump the
 * existing Event's count instead of creating a new one.
 */
export class EventRecorder {
  private readonly recent = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly logger?: Logger,
  ) {}

  async record(object: KubernetesObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = object.metadata ?? {};
    const namespace = meta.namespace ?? "default";
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const cacheKey = `${meta.uid}/${type}/${reason}/${text}`;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    try {
      const seen = this.recent.get(cacheKey);
      if (seen) {
        seen.count += 1;
        await this.client.patch(
          { apiVersion: "v1", kind: "Event", namespace: seen.namespace, name: seen.name },
          { count: seen.count, lastTimestamp: now },
          "merge",
        );
        return;
      }
      const event: CoreV1Event = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${meta.name}.`, namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
        type,
        reason,
        message: text,
        source: { component: this.component },
        count: 1,
        firstTimestamp: now as unknown as Date,
        lastTimestamp: now as unknown as Date,
      };
      const created = await this.client.create(event);
      if (this.recent.size > 4096) this.recent.clear();
      this.recent.set(cacheKey, { name: created.metadata!.name!, namespace, count: 1 });
    } catch (error) {
      // Events are best effort: a lost event must never fail a reconcile.
      this.recent.delete(cacheKey);
      this.logger?.debug({ reason, err: errorMessage(error) }, "could not record event");
    }
  }
}
