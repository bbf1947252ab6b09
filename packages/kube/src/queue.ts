import { Backoff } from "./backoff.js";

export interface WorkQueueOptions {
  /** First retry delay of a failing key; doubles per consecutive failure. */
  baseRetryMs?: number;
  maxRetryMs?: number;
  onDepthChange?(depth: number): void;
}

/**
 * A de-duplicating work queue of string keys, after client-go's: a key
 * queued several times is processed once; a key is never handed to two
 * workers at once (adding it while it is processed re-queues it for after);
 * failing keys back off exponentially, per key.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(private readonly options: WorkQueueOptions = {}) {}

  get depth(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.options.onDepthChange?.(this.queue.length);
  }

  /** Adds the key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Re-adds a failed key after its next back-off delay. */
  addRateLimited(key: string): number {
    let backoff = this.backoffs.get(key);
    if (!backoff) {
      backoff = new Backoff({
        baseMs: this.options.baseRetryMs ?? 100,
        maxMs: this.options.maxRetryMs ?? 60_000,
      });
      this.backoffs.set(key, backoff);
    }
    const delayMs = backoff.next();
    this.addAfter(key, delayMs);
    return delayMs;
  }

  /** Clears a key's failure history (call after it succeeds). */
  forget(key: string): void {
    this.backoffs.delete(key);
  }

  failures(key: string): number {
    return this.backoffs.get(key)?.failures ?? 0;
  }

  /** Waits for the next key; undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.options.onDepthChange?.(this.queue.length);
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks a key finished; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
