import { setTimeout as delay } from "node:timers/promises";
import type { Instance } from "../conformance/harness.js";
import { within, type ChaosBinding, type InstanceSession, type InstanceState } from "./harness.js";

/** An instance seen claiming the writable role. */
export interface Claim {
  /** When the answer arrived (the claim held at or before this time). */
  at: number;
  address: string;
  epoch: number;
}

export interface WatcherOptions {
  intervalMs?: number;
  /** Budget of one question to one instance, connecting included. */
  timeoutMs?: number;
  /** Budget of a probe write: only writes acknowledged within it count. */
  probeTimeoutMs?: number;
}

/** Asks one instance once, on a fresh connection. */
export async function askState(
  binding: ChaosBinding,
  address: string,
  timeoutMs: number,
): Promise<InstanceState> {
  const session = await within(
    timeoutMs,
    `connect to ${address}`,
    binding.instance(address, timeoutMs),
    (late) => late.discard(),
  );
  try {
    return await within(timeoutMs, `state of ${address}`, session.state(timeoutMs));
  } finally {
    session.discard();
  }
}

/**
 * Asks every instance directly (its pod IP, never a service) every ~100 ms
 * whether it claims the writable role. A sample where more than one does is
 * a claim sample; each claimant then gets a probe write, and a sample where
 * more than one acknowledges it is a split-brain sample: two instances that
 * would each acknowledge a client's write. A claim alone is not split brain
 * (an old primary that thaws still says it is one, but without a replica to
 * confirm its commits it cannot acknowledge any). Every address seen during
 * the watch stays watched, so a force-deleted pod whose server still runs
 * is asked too.
 */
export class SplitBrainWatcher {
  samples = 0;
  /** Samples in which more than one instance claimed the writable role. */
  claimSamples = 0;
  /** Samples in which more than one instance acknowledged a probe write. */
  splitBrainSamples = 0;
  /** Every writable claim seen, the evidence for acknowledgements by a superseded instance. */
  readonly claims: Claim[] = [];
  /** The first samples with more than one claimant, described. */
  readonly incidents: string[] = [];
  private readonly names = new Map<string, string>();
  private readonly sessions = new Map<string, InstanceSession>();
  private readonly startedAt = Date.now();
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly probeTimeoutMs: number;

  constructor(
    private readonly binding: ChaosBinding,
    private readonly instances: () => Promise<Instance[]>,
    options: WatcherOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 100;
    this.timeoutMs = options.timeoutMs ?? 500;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 1000;
  }

  async start(): Promise<this> {
    await this.refresh();
    this.running = true;
    this.loops = [this.sampleLoop(), this.refreshLoop()];
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    for (const session of this.sessions.values()) session.discard();
    this.sessions.clear();
  }

  /** Adds the addresses of the current instances; the API may be down (a fault), then the known ones stay. */
  private async refresh(): Promise<void> {
    for (const instance of await this.instances().catch(() => []))
      if (instance.ip) this.names.set(instance.ip, instance.name);
  }

  private async refreshLoop(): Promise<void> {
    while (this.running) {
      await delay(1000);
      await this.refresh();
    }
  }

  private async sampleLoop(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      await this.sample();
      const next = started + this.intervalMs - Date.now();
      if (next > 0) await delay(next);
    }
  }

  private async sample(): Promise<void> {
    const addresses = [...this.names.keys()];
    const states = await Promise.all(addresses.map((address) => this.state(address)));
    const at = Date.now();
    this.samples++;
    const claimants: { address: string; epoch: number }[] = [];
    states.forEach((state, i) => {
      if (state?.writable) claimants.push({ address: addresses[i]!, epoch: state.epoch });
    });
    for (const claimant of claimants) this.claims.push({ at, ...claimant });
    if (claimants.length < 2) return;
    this.claimSamples++;
    const accepted = await Promise.all(claimants.map((c) => this.probe(c.address)));
    const acknowledging = accepted.filter(Boolean).length;
    if (acknowledging > 1) this.splitBrainSamples++;
    if (this.incidents.length < 10) {
      const who = claimants
        .map(
          (c, i) =>
            `${this.names.get(c.address)} (epoch ${c.epoch}${accepted[i] ? ", acknowledged a write" : ""})`,
        )
        .join(", ");
      this.incidents.push(`+${((at - this.startedAt) / 1000).toFixed(1)} s: writable ${who}`);
    }
  }

  private async session(address: string): Promise<InstanceSession> {
    let session = this.sessions.get(address);
    if (!session) {
      session = await within(
        this.timeoutMs,
        `connect to ${address}`,
        this.binding.instance(address, this.timeoutMs),
        (late) => late.discard(),
      );
      this.sessions.set(address, session);
    }
    return session;
  }

  /** What the instance says, or undefined when it does not answer in time (its connection is then dropped). */
  private async state(address: string): Promise<InstanceState | undefined> {
    try {
      const session = await this.session(address);
      return await within(this.timeoutMs, `state of ${address}`, session.state(this.timeoutMs));
    } catch {
      this.drop(address);
      return undefined;
    }
  }

  private async probe(address: string): Promise<boolean> {
    try {
      const session = await this.session(address);
      return await within(
        this.probeTimeoutMs,
        `probe write on ${address}`,
        session.probeWrite(this.probeTimeoutMs),
      );
    } catch {
      this.drop(address);
      return false;
    }
  }

  private drop(address: string): void {
    this.sessions.get(address)?.discard();
    this.sessions.delete(address);
  }
}
