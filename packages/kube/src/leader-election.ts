import { setTimeout as delay } from "node:timers/promises";
import type { V1Lease } from "@kubernetes/client-node";
import type { KubeClient } from "./client.js";
import { errorMessage, isConflict, isAlreadyExists } from "./errors.js";
import type { Logger } from "./logger.js";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** Unique per process, e.g. `${hostname}_${pid}_${random}`. */
  identity: string;
  leaseDurationMs?: number;
  /** The leader gives up if it cannot renew for this long (must be < leaseDuration). */
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger?: Logger;
}

const LEASE_API = { apiVersion: "coordination.k8s.io/v1", kind: "Lease" };

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Lease-based leader election after client-go's: candidates poll the Lease;
 * whoever holds it renews it; others take it once it has not been renewed
 * for a lease duration as observed on their own clock (never trusting the
 * holder's clock). A clean stop releases the lease so a standby takes over
 * at once.
 */
export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed?: { holder: string; renewTime: string; at: number };
  private leading = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
  ) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs)
      throw new Error("renewDeadline must be below leaseDuration");
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until elected, then runs `lead` with a signal that aborts when
   * leadership is lost. Resolves when leadership ends or `stop()` is called.
   */
  async run(lead: (signal: AbortSignal) => Promise<void> | void): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
      await delay(this.retryPeriodMs, undefined, { signal }).catch(() => undefined);
    }
    if (signal.aborted) return;
    this.leading = true;
    this.options.logger?.info({ lease: this.options.name, identity: this.options.identity }, "became leader");
    const lost = new AbortController();
    const leadership = Promise.resolve(lead(lost.signal));
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await delay(this.retryPeriodMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.renewDeadlineMs) {
        this.options.logger?.error(
          { lease: this.options.name },
          "leadership lost: could not renew the lease",
        );
        break;
      }
    }
    this.leading = false;
    lost.abort();
    await leadership;
    if (signal.aborted) await this.release();
  }

  stop(): void {
    this.abort.abort();
  }

  private ref() {
    return { ...LEASE_API, namespace: this.options.namespace, name: this.options.name };
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const { identity } = this.options;
    const leaseDurationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    try {
      const lease = await this.client.find<V1Lease>(this.ref());
      if (!lease) {
        await this.client.create<V1Lease>({
          ...LEASE_API,
          metadata: { name: this.options.name, namespace: this.options.namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: microTime(now) as unknown as Date,
            renewTime: microTime(now) as unknown as Date,
            leaseTransitions: 0,
          },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? "";
      const renewTime = String(spec.renewTime ?? "");
      if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
        this.observed = { holder, renewTime, at: Date.now() };
      }
      const heldByOther = holder !== "" && holder !== identity;
      if (heldByOther && this.observed.at + this.leaseDurationMs > Date.now()) return false;
      const isNewHolder = holder !== identity;
      await this.client.replace<V1Lease>({
        ...lease,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: (isNewHolder ? microTime(now) : spec.acquireTime) as unknown as Date,
          renewTime: microTime(now) as unknown as Date,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (isNewHolder && holder !== "" ? 1 : 0),
        },
      });
      return true;
    } catch (error) {
      if (!isConflict(error) && !isAlreadyExists(error)) {
        this.options.logger?.warn(
          { lease: this.options.name, err: errorMessage(error) },
          "lease update failed",
        );
      }
      return false;
    }
  }

  /** Gives the lease up so a standby does not wait out the lease duration. */
  private async release(): Promise<void> {
    try {
      const lease = await this.client.find<V1Lease>(this.ref());
      if (lease?.spec?.holderIdentity !== this.options.identity) return;
      await this.client.replace<V1Lease>({
        ...lease,
        spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 },
      });
    } catch (error) {
      this.options.logger?.warn(
        { lease: this.options.name, err: errorMessage(error) },
        "lease release failed",
      );
    }
  }
}
