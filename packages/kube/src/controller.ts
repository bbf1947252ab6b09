import type { KubernetesObject } from "./client.js";
import { errorMessage } from "./errors.js";
import { objectKey, splitKey, type Informer } from "./informer.js";
import type { Logger } from "./logger.js";
import { queueDepth, reconcileDuration, reconcileErrors, reconcileTotal } from "./metrics.js";
import { WorkQueue } from "./queue.js";

export interface ReconcileRequest {
  key: string;
  namespace?: string;
  name: string;
}

export interface ReconcileResult {
  /** Reconcile this key again after the delay even if nothing changes (polling external state). */
  requeueAfterMs?: number;
}

export type Reconciler = (request: ReconcileRequest) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  /** Workers processing distinct keys in parallel. */
  concurrency?: number;
  logger?: Logger;
  baseRetryMs?: number;
  maxRetryMs?: number;
}

/**
 * Runs a reconciler over a work queue fed by informers. Level-triggered:
 * the reconciler gets only a key and must read current state itself, so a
 * missed or merged event never loses work.
 */
export class Controller {
  readonly queue: WorkQueue;
  private workers: Promise<void>[] = [];

  constructor(private readonly options: ControllerOptions) {
    this.queue = new WorkQueue({
      baseRetryMs: options.baseRetryMs,
      maxRetryMs: options.maxRetryMs,
      onDepthChange: (depth) => queueDepth.set({ controller: options.name }, depth),
    });
    // Exported from the start, so a scrape shows every controller even before its first event.
    queueDepth.set({ controller: options.name }, 0);
  }

  get name(): string {
    return this.options.name;
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Every change of an object of this informer reconciles that object. */
  watches<T extends KubernetesObject>(informer: Informer<T>): this {
    return this.watchesMapped(informer, (object) => [objectKey(object)]);
  }

  /**
   * A change of a child reconciles its owner of `ownerKind` (found through
   * the child's ownerReferences), so owners notice drift in what they own.
   */
  owns<T extends KubernetesObject>(informer: Informer<T>, ownerKind: string): this {
    return this.watchesMapped(informer, (object) =>
      (object.metadata?.ownerReferences ?? [])
        .filter((ref) => ref.kind === ownerKind)
        .map((ref) => objectKey({ metadata: { name: ref.name, namespace: object.metadata?.namespace } })),
    );
  }

  /** Any change of an object of this informer reconciles the keys `map` returns. */
  watchesMapped<T extends KubernetesObject>(informer: Informer<T>, map: (object: T) => string[]): this {
    const enqueueAll = (object: T) => {
      for (const key of map(object)) this.queue.add(key);
    };
    informer.addHandlers({
      add: enqueueAll,
      update: (oldObject, newObject) => {
        enqueueAll(oldObject);
        if (oldObject !== newObject) enqueueAll(newObject);
      },
      delete: enqueueAll,
    });
    return this;
  }

  start(): void {
    const concurrency = this.options.concurrency ?? 2;
    for (let i = 0; i < concurrency; i++) this.workers.push(this.work());
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
      this.queue.done(key);
    }
  }

  private async process(key: string): Promise<void> {
    const { name, logger } = this.options;
    const stopTimer = reconcileDuration.startTimer({ controller: name });
    try {
      const result = await this.options.reconcile({ key, ...splitKey(key) });
      this.queue.forget(key);
      if (result?.requeueAfterMs !== undefined) {
        this.queue.addAfter(key, result.requeueAfterMs);
        reconcileTotal.inc({ controller: name, result: "requeue" });
      } else {
        reconcileTotal.inc({ controller: name, result: "success" });
      }
    } catch (error) {
      const retryInMs = this.queue.addRateLimited(key);
      reconcileTotal.inc({ controller: name, result: "error" });
      reconcileErrors.inc({ controller: name });
      logger?.warn({ controller: name, key, err: errorMessage(error), retryInMs }, "reconcile failed");
    } finally {
      stopTimer();
    }
  }
}
