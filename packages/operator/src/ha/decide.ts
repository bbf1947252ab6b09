import type { HAStatus, Role } from "@tessera/api";
import type { EventType } from "@tessera/kube";

export interface ProbeReport {
  pod: string;
  ordinal: number;
  /** The pod's Ready condition (readiness probes). */
  ready: boolean;
  ok: boolean;
  role?: string;
  /** Replication position reported by the probe; higher is more advanced. */
  position?: number;
  error?: string;
  /** The pod's main container restarted since the previous probe round. */
  restarted?: boolean;
}

export interface DecideInput {
  mode: "operator" | "native" | "none";
  roles: Role[];
  ha: HAStatus;
  reports: ProbeReport[];
  /** Consecutive probe rounds in which the recorded primary was unhealthy. */
  primaryFailures: number;
  podFailures: Map<string, number>;
  failureThreshold: number;
  /** An InstanceSet switchover is moving the writable role: do not fail over meanwhile. */
  switchoverInProgress: boolean;
  /** The instance that switchover promotes, if it named one. */
  switchoverCandidate?: string;
  /** Role labels the pods carry now. */
  currentLabels?: Map<string, string | undefined>;
  /** Last position each instance reported, kept across rounds (reset when a pod is recreated). */
  knownPositions?: Map<string, number>;
}

export interface Decision {
  /** New HA status to persist (before any action runs), if it changed. */
  ha?: HAStatus;
  primaryFailures: number;
  /** Role label per pod; pods not in the map keep their label, undefined removes it. */
  labels: Map<string, string | undefined>;
  promote?: string;
  /** A lost primary that still serves (e.g. restarted): demote it now, promote a replica next round. */
  fence?: string;
  demote: string[];
  events: { type: EventType; reason: string; message: string }[];
  /** Why failover cannot happen right now. */
  blocked?: string;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

/** Most advanced first; ties go to the lowest ordinal so choices are deterministic. */
function byAdvancement(a: ProbeReport, b: ProbeReport): number {
  return (b.position ?? -1) - (a.position ?? -1) || a.ordinal - b.ordinal;
}

function observedLabels(input: DecideInput, writable: string | undefined, primary: string | undefined) {
  const result = new Map<string, string | undefined>();
  for (const r of input.reports) {
    if (r.ok) {
      result.set(
        r.pod,
        r.role === writable && writable !== undefined && r.pod !== primary ? undefined : r.role,
      );
    } else if ((input.podFailures.get(r.pod) ?? 0) >= input.failureThreshold) {
      result.set(r.pod, undefined);
    } else if (writable !== undefined && r.pod !== primary && input.currentLabels?.get(r.pod) === writable) {
      // Only the recorded primary may keep the writable label, even before its probe fails for good.
      result.set(r.pod, undefined);
    }
  }
  return result;
}

/**
 * An instance that did not answer this round but last reported a higher
 * position than the best candidate: promoting the candidate could lose
 * writes only that instance has, so failover waits for it.
 */
function moreAdvancedAbsent(
  input: DecideInput,
  primary: string,
  candidate: ProbeReport,
): [string, number] | undefined {
  const answered = new Set(input.reports.filter((r) => r.ok).map((r) => r.pod));
  for (const [pod, position] of input.knownPositions ?? []) {
    if (pod !== primary && !answered.has(pod) && position > (candidate.position ?? -1))
      return [pod, position];
  }
  return undefined;
}

/** Native mode: the engine decides; Tessera mirrors what the probes report. */
function observe(input: DecideInput): Decision {
  const writable = input.roles.find((r) => r.writable)?.name;
  const holders = input.reports.filter((r) => r.ok && r.role === writable);
  const decision: Decision = { primaryFailures: 0, labels: new Map(), demote: [], events: [] };
  for (const r of input.reports) {
    if (r.ok) decision.labels.set(r.pod, r.role);
    else if ((input.podFailures.get(r.pod) ?? 0) >= input.failureThreshold)
      decision.labels.set(r.pod, undefined);
  }
  if (writable && holders.length === 1 && holders[0]!.pod !== input.ha.primary) {
    decision.ha = { primary: holders[0]!.pod, epoch: (input.ha.epoch ?? 0) + 1 };
    decision.events.push({
      type: "Normal",
      reason: "RoleChanged",
      message: `${holders[0]!.pod} is now ${writable}${input.ha.primary ? ` (was ${input.ha.primary})` : ""}`,
    });
  }
  return decision;
}

/**
 * One round of the operator-arbitrated HA state machine. Pure: it gets the
 * probe results and the persisted HA status and says what to persist,
 * which labels to set and which actions to run.
 */
export function decide(input: DecideInput): Decision {
  const writable = input.roles.find((r) => r.writable)?.name;
  if (input.mode !== "operator" || !writable) return observe(input);
  const reports = new Map(input.reports.map((r) => [r.pod, r]));
  const claimants = input.reports.filter((r) => r.ok && r.role === writable);
  const decision: Decision = {
    primaryFailures: input.primaryFailures,
    labels: new Map(),
    demote: [],
    events: [],
  };
  let ha: HAStatus = { ...input.ha, epoch: input.ha.epoch ?? 0 };
  const change = (next: HAStatus) => {
    ha = next;
    decision.ha = next;
  };
  const primary = ha.primary;
  if (!primary) {
    const chosen = [...claimants].sort(byAdvancement)[0];
    if (chosen) {
      change({ primary: chosen.pod, epoch: ha.epoch + 1 });
      decision.events.push({
        type: "Normal",
        reason: "PrimaryRecognised",
        message: `${chosen.pod} is the ${writable}`,
      });
    }
  } else {
    const current = reports.get(primary);
    const others = claimants.filter((r) => r.pod !== primary);
    const switchedTo = input.switchoverInProgress
      ? others.find((r) => r.pod === input.switchoverCandidate)
      : undefined;
    if (switchedTo) {
      change({ primary: switchedTo.pod, epoch: ha.epoch + 1 });
      decision.primaryFailures = 0;
      decision.events.push({
        type: "Normal",
        reason: "RoleChanged",
        message: `switchover: ${writable} moved from ${primary} to ${switchedTo.pod}`,
      });
    } else if (current?.ok && current.role === writable && !current.restarted) {
      decision.primaryFailures = 0;
      if (ha.promotePending) change({ ...ha, promotePending: false });
    } else if (current?.ok && !current.restarted && others.length === 1 && !ha.promotePending) {
      // The primary stepped down by itself (an engine-driven switchover): follow the engine.
      const next = others[0]!;
      change({ primary: next.pod, epoch: ha.epoch + 1 });
      decision.primaryFailures = 0;
      decision.events.push({
        type: "Normal",
        reason: "RoleChanged",
        message: `${writable} moved from ${primary} to ${next.pod}`,
      });
    } else if (ha.promotePending && current?.ok) {
      decision.promote = primary;
    } else if (!input.switchoverInProgress) {
      // A restarted primary counts as lost at once: its replicas hold every acknowledged write.
      decision.primaryFailures = current?.restarted ? input.failureThreshold : input.primaryFailures + 1;
      if (decision.primaryFailures >= input.failureThreshold) {
        const why = current?.restarted
          ? "restarted"
          : current?.ok
            ? `reports role ${current.role}`
            : (current?.error ?? "is gone");
        const candidates = input.reports
          .filter((r) => r.pod !== primary && r.ok && r.role !== writable && r.ready && !r.restarted)
          .sort(byAdvancement);
        const candidate = candidates[0];
        const ahead = candidate ? moreAdvancedAbsent(input, primary, candidate) : undefined;
        if (!candidate) {
          decision.blocked = `${writable} ${primary} ${why} and no healthy replica can take over`;
          decision.events.push({ type: "Warning", reason: "FailoverBlocked", message: decision.blocked });
        } else if (ahead) {
          decision.blocked = `${writable} ${primary} ${why}; waiting for ${ahead[0]}, last at position ${ahead[1]}, ahead of ${candidate.pod} at ${candidate.position ?? "unknown"}`;
          decision.events.push({ type: "Warning", reason: "FailoverBlocked", message: decision.blocked });
        } else if (current?.ok && current.role === writable) {
          // It still serves: existing connections (clients, standbys) bypass the service, so it
          // could acknowledge writes the new primary never gets. Stop it first; promote next round.
          decision.fence = primary;
          decision.labels.set(primary, undefined);
          decision.events.push({
            type: "Warning",
            reason: "Fencing",
            message: `${writable} ${primary} ${why}; stopping it before a replica is promoted`,
          });
        } else {
          change({
            primary: candidate.pod,
            epoch: ha.epoch + 1,
            promotePending: true,
            lastFailover: { from: primary, to: candidate.pod, at: now(), reason: why },
          });
          decision.primaryFailures = 0;
          decision.promote = candidate.pod;
          decision.labels.set(primary, undefined);
          decision.events.push({
            type: "Warning",
            reason: "Failover",
            message: `${writable} ${primary} ${why}; promoting ${candidate.pod} (position ${candidate.position ?? "unknown"}), epoch ${ha.epoch}`,
          });
        }
      }
    }
  }
  for (const claimant of claimants) {
    if (claimant.pod !== ha.primary) decision.demote.push(claimant.pod);
  }
  for (const [pod, role] of observedLabels(input, writable, ha.primary)) {
    if (!decision.labels.has(pod)) decision.labels.set(pod, role);
  }
  return decision;
}
