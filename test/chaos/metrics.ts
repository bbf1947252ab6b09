import type { Claim } from "./watcher.js";
import type { WriteRecord } from "./writer.js";

/** What one chaos round measured. */
export interface RoundResult {
  engine: string;
  fault: string;
  writes: number;
  acknowledged: number;
  /** Longest interval between consecutive acknowledged writes from the fault's start to the end of the round. */
  writeGapMs: number;
  /** Acknowledged ids missing on the writable instance after convergence; undefined if it never converged. */
  lost?: number[];
  /** Writes acknowledged by an instance after another one had taken the writable role with a newer epoch. */
  staleAcks: number;
  samples: number;
  /** Samples in which more than one instance claimed the writable role. */
  claimSamples: number;
  /** Samples in which more than one instance acknowledged a probe write. */
  splitBrainSamples: number;
  incidents: string[];
  /** Why the round did not complete (the cluster did not converge, writes did not resume). */
  error?: string;
}

/**
 * Longest interval between consecutive acknowledged writes that ends after
 * `from`, counted from the last acknowledgement before `from`; if no write
 * was acknowledged after it, the whole time until `until`.
 */
export function longestGap(records: WriteRecord[], from: number, until: number): number {
  const acks = records
    .map((r) => r.ackedAt)
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  let previous = acks.findLast((t) => t <= from) ?? from;
  let longest = 0;
  for (const t of acks.filter((t) => t > from)) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return Math.max(longest, until - previous);
}

/** Acknowledged ids absent from what the writable instance stores. */
export function lostWrites(records: WriteRecord[], stored: Set<number>): number[] {
  return records.filter((r) => r.ackedAt !== undefined && !stored.has(r.id)).map((r) => r.id);
}

/**
 * Acknowledged writes whose epoch is older than one already in evidence
 * when they were acknowledged: a newer epoch claimed by an instance the
 * watcher asked, or carried by an earlier acknowledgement. Such a write was
 * acknowledged by an instance while another one held the writable role.
 */
export function staleAcks(records: WriteRecord[], claims: Claim[]): WriteRecord[] {
  const acked = records
    .filter((r) => r.ackedAt !== undefined && r.ack)
    .sort((a, b) => a.ackedAt! - b.ackedAt!);
  const evidence = [
    ...claims.map((c) => ({ at: c.at, epoch: c.epoch })),
    ...acked.map((r) => ({ at: r.ackedAt!, epoch: r.ack!.epoch })),
  ].sort((a, b) => a.at - b.at);
  const stale: WriteRecord[] = [];
  let newest = -Infinity;
  let next = 0;
  for (const record of acked) {
    while (next < evidence.length && evidence[next]!.at < record.ackedAt!)
      newest = Math.max(newest, evidence[next++]!.epoch);
    if (record.ack!.epoch < newest) stale.push(record);
  }
  return stale;
}

/** One line per round for logs. */
export function formatRound(r: RoundResult): string {
  const lost = r.lost === undefined ? "unknown (not converged)" : String(r.lost.length);
  return (
    `${r.engine} ${r.fault}: ${r.acknowledged}/${r.writes} writes acknowledged, write gap ${r.writeGapMs} ms, ` +
    `lost ${lost}, split-brain samples ${r.splitBrainSamples}, two-claimant samples ${r.claimSamples}/${r.samples}, ` +
    `stale acknowledgements ${r.staleAcks}` +
    (r.incidents.length ? `\n  ${r.incidents.join("\n  ")}` : "") +
    (r.error ? `\n  not completed: ${r.error}` : "")
  );
}
