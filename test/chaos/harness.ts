import type { ClusterHandle, EngineDescriptor, Instance } from "../conformance/harness.js";

/** What the engine reported with an acknowledged write. */
export interface Ack {
  /** Address (pod IP) of the instance that acknowledged the write. */
  server: string;
  /**
   * The generation of that instance's writable role, a number that grows with
   * every change of writable instance (PostgreSQL: the timeline; etcd: the
   * Raft term). A write acknowledged with an older epoch than one already seen
   * was acknowledged by a superseded instance.
   */
  epoch: number;
}

/**
 * A connection through the engine's writable service. Operations are
 * abandoned on the client side when they time out: nothing is cancelled on
 * the server (a cancelled commit may still be applied, or even reported as
 * committed), so a write that timed out has an unknown outcome.
 */
export interface WriteSession {
  /** Writes entry `id` of `stream`; resolves when the engine acknowledged it, rejects after timeoutMs. */
  write(stream: string, id: number, timeoutMs: number): Promise<Ack>;
  /** Drops the connection at once, without waiting for the server (it may be frozen or cut off). */
  discard(): void;
}

/** What one instance says about itself. */
export type InstanceState = { writable: false } | { writable: true; epoch: number };

/** A connection to one instance by its address, never through a service. */
export interface InstanceSession {
  /** Whether the instance claims the writable role (e.g. PostgreSQL: not in recovery), with its epoch. */
  state(timeoutMs: number): Promise<InstanceState>;
  /** One write on this instance: true only if it was acknowledged within timeoutMs. */
  probeWrite(timeoutMs: number): Promise<boolean>;
  discard(): void;
}

/** A chaos descriptor bound to one running cluster: its services, credentials and storage for chaos writes. */
export interface ChaosBinding {
  /** Opens a session on the writable service; rejects within timeoutMs. */
  writer(timeoutMs: number): Promise<WriteSession>;
  /** Opens a session on the instance listening on `address`; rejects within timeoutMs. */
  instance(address: string, timeoutMs: number): Promise<InstanceSession>;
  /** The ids of `stream` the instance at `address` has. */
  stored(address: string, stream: string): Promise<Set<number>>;
  /**
   * Why the instances do not (yet) share the primary's history, e.g. a
   * replica on another timeline; empty once they all do.
   */
  divergence(primary: Instance, instances: Instance[]): Promise<string[]>;
}

/**
 * What the chaos suite needs of an engine beyond its conformance
 * descriptor: a fast writer that says which instance acknowledged each
 * write, and direct questions to each instance.
 */
export interface ChaosDescriptor {
  engine: EngineDescriptor;
  /** Binds to a running cluster and prepares it for chaos writes (e.g. creates the tables); idempotent. */
  bind(cluster: ClusterHandle): Promise<ChaosBinding>;
}

/**
 * Settles like `promise`, or rejects after `ms` without waiting for it. A
 * value that arrives after the deadline goes to `late` (to close a
 * connection nobody will use).
 */
export function within<T>(
  ms: number,
  what: string,
  promise: Promise<T>,
  late?: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(
      () => {
        expired = true;
        reject(new Error(`${what}: no answer within ${ms} ms`));
      },
      Math.max(0, ms),
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        if (expired) late?.(value);
        else resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (!expired) reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
