import { setTimeout as delay } from "node:timers/promises";
import type { KubeClient, KubernetesObject, WatchEvent } from "./client.js";
import { ApiError, errorMessage } from "./errors.js";
import { Backoff } from "./backoff.js";
import type { Logger } from "./logger.js";

export interface InformerOptions {
  apiVersion: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as an update this often; 0 disables. */
  resyncMs?: number;
  /** Server-side watch timeout; each watch picks a random value in [t, 2t) to spread reconnects. */
  watchTimeoutSeconds?: number;
  logger?: Logger;
}

export interface InformerHandlers<T> {
  add?(object: T): void;
  update?(oldObject: T, newObject: T): void;
  delete?(object: T): void;
}

export type IndexFunction<T> = (object: T) => string[];

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(object: KubernetesObject): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : `${name}`;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf("/");
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/**
 * A list+watch cache of one resource type. It keeps watching through
 * everything a real apiserver does: watch timeouts (re-watch from the last
 * resourceVersion, with bookmarks keeping it fresh), 410 Gone (relist and
 * diff), and any other failure, including the apiserver going away
 * (restart with exponential back-off). Objects handed out are shared with
 * the cache: clone before mutating.
 */
export class Informer<T extends KubernetesObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly indexers = new Map<string, IndexFunction<T>>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly abort = new AbortController();
  private resourceVersion = "";
  private synced = false;
  private readonly syncWaiters: (() => void)[] = [];
  private running?: Promise<void>;
  private resyncTimer?: NodeJS.Timeout;
  private readonly backoff = new Backoff({ baseMs: 200, maxMs: 10_000 });

  constructor(
    private readonly client: KubeClient,
    readonly options: InformerOptions,
  ) {}

  get kind(): string {
    return this.options.kind;
  }

  addHandlers(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
    // Late subscribers see the current state, as if they had been there from the start.
    if (this.synced) for (const object of this.store.values()) handlers.add?.(object);
  }

  addIndex(name: string, indexFunction: IndexFunction<T>): void {
    if (this.store.size > 0) throw new Error(`index ${name} must be added before the informer starts`);
    this.indexers.set(name, indexFunction);
    this.indexes.set(name, new Map());
  }

  start(): void {
    if (this.running) return;
    this.running = this.run();
    if (this.options.resyncMs) {
      this.resyncTimer = setInterval(() => this.resync(), this.options.resyncMs);
      this.resyncTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.resyncTimer);
    await this.running;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`no index named ${name}`);
    return [...(index.get(value) ?? [])].map((key) => this.store.get(key)!).filter(Boolean);
  }

  private async run(): Promise<void> {
    const log = this.options.logger;
    let needList = true;
    while (!this.abort.signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        await this.watchOnce();
        this.backoff.reset();
      } catch (error) {
        if (this.abort.signal.aborted) break;
        if (error instanceof ApiError && error.statusCode === 410) {
          log?.debug({ kind: this.kind }, "watch expired (410 Gone): relisting");
          needList = true;
          continue;
        }
        const waitMs = this.backoff.next();
        log?.warn(
          { kind: this.kind, err: errorMessage(error), retryInMs: waitMs },
          "list/watch failed; retrying",
        );
        // After a failure the resourceVersion may be stale: a relist is the safe restart.
        needList = true;
        await delay(waitMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
  }

  private async relist(): Promise<void> {
    const { apiVersion, kind, namespace, labelSelector, fieldSelector } = this.options;
    const result = await this.client.listAll<T>(apiVersion, kind, {
      namespace,
      labelSelector,
      fieldSelector,
    });
    const seen = new Set<string>();
    for (const object of result.items) {
      const key = objectKey(object);
      seen.add(key);
      this.upsert(key, object);
    }
    for (const [key, object] of [...this.store]) {
      if (!seen.has(key)) this.remove(key, object);
    }
    this.resourceVersion = result.metadata.resourceVersion ?? "";
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private async watchOnce(): Promise<void> {
    const { apiVersion, kind, namespace, labelSelector, fieldSelector } = this.options;
    const path = await this.client.path(apiVersion, kind, namespace);
    const base = this.options.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(base + Math.random() * base);
    let expired: ApiError | undefined;
    await this.client.watch<T>(
      path,
      {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        labelSelector,
        fieldSelector,
      },
      (event) => {
        if (expired) return;
        expired = this.apply(event);
      },
      { signal: this.abort.signal, idleTimeoutMs: (timeoutSeconds + 30) * 1000 },
    );
    if (expired) throw expired;
  }

  /** Applies one watch event; returns an error when the watch must be restarted. */
  private apply(event: WatchEvent<T>): ApiError | undefined {
    const object = event.object;
    if (event.type === "ERROR") {
      const status = object as unknown as { code?: number; reason?: string; message?: string };
      return new ApiError(status.code ?? 500, status.reason ?? "Error", status.message ?? "watch error");
    }
    const rv = object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (event.type === "BOOKMARK") return undefined;
    object.apiVersion ??= this.options.apiVersion;
    object.kind ??= this.options.kind;
    const key = objectKey(object);
    if (event.type === "DELETED") this.remove(key, this.store.get(key) ?? object);
    else this.upsert(key, object);
    return undefined;
  }

  private upsert(key: string, object: T): void {
    const old = this.store.get(key);
    if (old && old.metadata?.resourceVersion === object.metadata?.resourceVersion) return;
    this.store.set(key, object);
    this.reindex(key, old, object);
    for (const h of this.handlers) {
      if (old) h.update?.(old, object);
      else h.add?.(object);
    }
  }

  private remove(key: string, object: T): void {
    if (!this.store.delete(key)) return;
    this.reindex(key, object, undefined);
    for (const h of this.handlers) h.delete?.(object);
  }

  private reindex(key: string, oldObject: T | undefined, newObject: T | undefined): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indexes.get(name)!;
      for (const value of oldObject ? fn(oldObject) : []) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
      for (const value of newObject ? fn(newObject) : []) {
        let keys = index.get(value);
        if (!keys) index.set(value, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  private resync(): void {
    if (!this.synced) return;
    for (const object of this.store.values()) {
      for (const h of this.handlers) h.update?.(object, object);
    }
  }
}
