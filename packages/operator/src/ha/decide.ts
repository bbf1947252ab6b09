import type { HAStatus, Role } from "@tessera/api";
import type { EventType } from "@tessera/kube";
import { rfc3339 } from "../time.js";

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
  /**
   * Failed rounds this report stands for (default 1): a probe unanswered for its whole timeout
   * was silent for every period that timeout spans.
   */
  missedRounds?: number;
}

export interface DecideInput {
  mode: "operator" | "native" | "none";
  roles: Role[];
  ha: HAStatus;
  reports: ProbeReport[];
  /** Consecutive probe rounds in which the recorded primary was unhealthy. */
  primaryFailures: number;
  /**
   * Whether this round may count a failure of the primary: rounds also run on events, more often
   * than once a period, and failed rounds must measure time. Default true.
   */
  countsFailure?: boolean;
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
  /**
   * The recorded primary's pod, seen running before, is gone or being deleted while the set runs:
   * it is not expected back as the same run, so failover starts at once.
   */
  primaryDeleted?: boolean;
  /** The definition has a detach action: failover detaches every answering replica before promoting one. */
  canDetach?: boolean;
  /** Replicas whose detach succeeded in this round; their reports were taken after it. */
  detached?: Set<string>;
  /** The definition has a follow action: replicas are pointed at each new primary. */
  canFollow?: boolean;
  /** The epoch each pod's follow action last pointed it at (its follows-epoch annotation). */
  followedEpochs?: Map<string, number | undefined>;
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
  /** Replicas to detach from the lost primary before any of them is promoted. */
  detach: string[];
  /** Replicas to point at the recorded primary. */
  follow: string[];
  /**
   * Replicas that never followed anyone by name: they cloned from (and stream through the
   * writable service from) the recorded primary, so they are recorded as following it as they are.
   */
  adopt: string[];
  demote: string[];
  events: { type: EventType; reason: string; message: string }[];
  /** Why failover cannot happen right now. */
  blocked?: string;
}

const now = () => rfc3339();

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

/** A decision that changes nothing yet. */
function emptyDecision(primaryFailures: number): Decision {
  return { primaryFailures, labels: new Map(), demote: [], detach: [], follow: [], adopt: [], events: [] };
}

/** Native mode: the engine decides; Tessera mirrors what the probes report. */
function observe(input: DecideInput): Decision {
  const writable = input.roles.find((r) => r.writable)?.name;
  const holders = input.reports.filter((r) => r.ok && r.role === writable);
  const decision = emptyDecision(0);
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

/** Replicas that may take over: answering, not claiming the writable role, ready and not just restarted. */
function takeoverCandidates(input: DecideInput, primary: string, writable: string): ProbeReport[] {
  return input.reports
    .filter((r) => r.pod !== primary && r.ok && r.role !== writable && r.ready && !r.restarted)
    .sort(byAdvancement);
}

/**
 * Failover from a lost primary. With a detach action it takes two steps: first every answering
 * replica is detached (the lost primary can then get no acknowledgement from any of them, so it
 * can acknowledge no write the chosen replica might lack), then, on reports taken after the
 * detach, the most advanced one is promoted. Without one, a primary that still answers is fenced
 * by demoting it before a replica is promoted.
 */
function failOver(input: DecideInput, decision: Decision, ha: HAStatus, writable: string, why: string) {
  const primary = ha.primary!;
  const current = input.reports.find((r) => r.pod === primary);
  const candidates = takeoverCandidates(input, primary, writable);
  const block = (message: string) => {
    decision.blocked = message;
    decision.events.push({ type: "Warning", reason: "FailoverBlocked", message });
  };
  const answersWritable = current?.ok && current.role === writable;
  if (candidates.length === 0) {
    // Nobody could take over: fencing would only leave the cluster without a primary for good.
    // No replica was promoted, so a primary that serves again may keep (or get back) its role.
    if (ha.fencing?.from === primary && answersWritable && !current.restarted) {
      decision.ha = {
        primary,
        epoch: ha.epoch + 1,
        ...(ha.lastFailover ? { lastFailover: ha.lastFailover } : {}),
      };
      decision.primaryFailures = 0;
      decision.events.push({
        type: "Normal",
        reason: "FencingLifted",
        message: `${writable} ${primary} answers again and no replica could take over; it keeps the role and its replicas follow it again`,
      });
      return;
    }
    if (!answersWritable) decision.labels.set(primary, undefined);
    return block(`${writable} ${primary} ${why} and no healthy replica can take over`);
  }
  decision.labels.set(primary, undefined);
  if (input.canDetach) {
    const fencing = ha.fencing?.from === primary ? ha.fencing : { from: primary, since: now(), reason: why };
    if (fencing !== ha.fencing) {
      decision.ha = { ...ha, fencing };
      decision.events.push({
        type: "Warning",
        reason: "Fencing",
        message: `${writable} ${primary} ${why}; detaching its replicas before one is promoted`,
      });
    }
    // Stopping a lost primary that still answers also ends the writes it would take asynchronously.
    if (current?.ok && current.role === writable) decision.fence = primary;
    const pending = input.reports
      .filter((r) => r.pod !== primary && r.ok && r.role !== writable && !input.detached?.has(r.pod))
      .map((r) => r.pod);
    if (pending.length > 0) {
      decision.detach = pending;
      return;
    }
  } else if (current?.ok && current.role === writable) {
    // It still serves: existing connections (clients, standbys) bypass the service, so it could
    // acknowledge writes the new primary never gets. Stop it first; promote next round.
    decision.fence = primary;
    decision.events.push({
      type: "Warning",
      reason: "Fencing",
      message: `${writable} ${primary} ${why}; stopping it before a replica is promoted`,
    });
    return;
  }
  const candidate = candidates[0];
  if (!candidate) return block(`${writable} ${primary} ${why} and no healthy replica can take over`);
  const ahead = moreAdvancedAbsent(input, primary, candidate);
  if (ahead) {
    return block(
      `${writable} ${primary} ${why}; waiting for ${ahead[0]}, last at position ${ahead[1]}, ahead of ${candidate.pod} at ${candidate.position ?? "unknown"}`,
    );
  }
  decision.ha = {
    primary: candidate.pod,
    epoch: ha.epoch + 1,
    promotePending: true,
    lastFailover: { from: primary, to: candidate.pod, at: now(), reason: ha.fencing?.reason ?? why },
  };
  decision.primaryFailures = 0;
  decision.promote = candidate.pod;
  decision.events.push({
    type: "Warning",
    reason: "Failover",
    message: `${writable} ${primary} ${ha.fencing?.reason ?? why}; promoting ${candidate.pod} (position ${candidate.position ?? "unknown"}), epoch ${ha.epoch + 1}`,
  });
}

/** Replicas not yet pointed at the recorded primary, once that primary serves. */
function replicasToFollow(
  input: DecideInput,
  ha: HAStatus,
  writable: string,
): { follow: string[]; adopt: string[] } {
  const none = { follow: [], adopt: [] };
  if (!input.canFollow || !ha.primary || ha.promotePending || ha.fencing) return none;
  const primary = input.reports.find((r) => r.pod === ha.primary);
  if (!primary?.ok || primary.role !== writable) return none;
  const replicas = input.reports.filter((r) => r.ok && r.pod !== ha.primary && r.role !== writable);
  const followed = (pod: string) => input.followedEpochs?.get(pod);
  return {
    follow: replicas
      .filter((r) => followed(r.pod) !== undefined && followed(r.pod) !== ha.epoch)
      .map((r) => r.pod),
    adopt: replicas.filter((r) => followed(r.pod) === undefined).map((r) => r.pod),
  };
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
  const decision = emptyDecision(input.primaryFailures);
  const ha: HAStatus = { ...input.ha, epoch: input.ha.epoch ?? 0 };
  const primary = ha.primary;
  if (!primary) {
    const chosen = [...claimants].sort(byAdvancement)[0];
    if (chosen) {
      decision.ha = { primary: chosen.pod, epoch: ha.epoch + 1 };
      decision.events.push({
        type: "Normal",
        reason: "PrimaryRecognised",
        message: `${chosen.pod} is the ${writable}`,
      });
    }
  } else if (ha.fencing?.from === primary) {
    // Once its replicas are being detached, a lost primary never gets the role back.
    failOver(input, decision, ha, writable, ha.fencing.reason);
  } else {
    const current = reports.get(primary);
    const others = claimants.filter((r) => r.pod !== primary);
    const switchedTo = input.switchoverInProgress
      ? others.find((r) => r.pod === input.switchoverCandidate)
      : undefined;
    if (switchedTo) {
      decision.ha = { primary: switchedTo.pod, epoch: ha.epoch + 1 };
      decision.primaryFailures = 0;
      decision.events.push({
        type: "Normal",
        reason: "RoleChanged",
        message: `switchover: ${writable} moved from ${primary} to ${switchedTo.pod}`,
      });
    } else if (current?.ok && current.role === writable && !current.restarted) {
      decision.primaryFailures = 0;
      if (ha.promotePending) decision.ha = { ...ha, promotePending: false };
    } else if (
      (!current || (current.ok && !current.restarted)) &&
      others.length === 1 &&
      !ha.promotePending &&
      ha.lastFailover?.to !== primary
    ) {
      // The primary stepped down by itself (an engine-driven switchover), or stepped down and its
      // pod is already gone (a switchover before removing it): follow the engine. Not after a
      // failover installed this primary: a second claimant then is the deposed primary not yet
      // demoted, and the primary's own report may predate its promotion.
      const next = others[0]!;
      decision.ha = { primary: next.pod, epoch: ha.epoch + 1 };
      decision.primaryFailures = 0;
      decision.events.push({
        type: "Normal",
        reason: "RoleChanged",
        message: `${writable} moved from ${primary} to ${next.pod}`,
      });
    } else if (ha.promotePending && current?.ok) {
      decision.promote = primary;
    } else if (!input.switchoverInProgress) {
      // A restarted primary counts as lost at once: its replicas hold every acknowledged write. So
      // does one whose running pod was deleted. One whose pod is missing otherwise (the operator
      // never saw it run) is counted like any failed round: after a start, it is expected soon.
      // A round in which no other instance answered either says nothing about the primary: the
      // operator, or the whole node, is too starved or cut off to tell, and no replica could take
      // over. Counting it would turn a burst of load into a failover once one replica answers.
      const conclusive = input.reports.some((r) => r.pod !== primary && r.ok);
      decision.primaryFailures =
        current?.restarted || input.primaryDeleted
          ? input.failureThreshold
          : input.primaryFailures +
            (input.countsFailure === false || !conclusive ? 0 : (current?.missedRounds ?? 1));
      if (decision.primaryFailures >= input.failureThreshold) {
        const why = current?.restarted
          ? "restarted"
          : input.primaryDeleted
            ? "lost its pod (deleted)"
            : current?.ok
              ? `reports role ${current.role}`
              : (current?.error ?? "has no pod");
        failOver(input, decision, ha, writable, why);
      }
    }
  }
  const recorded = decision.ha ?? ha;
  for (const claimant of claimants) {
    if (claimant.pod !== recorded.primary) decision.demote.push(claimant.pod);
  }
  const fenced = recorded.fencing?.from;
  for (const [pod, role] of observedLabels(input, writable, fenced ? undefined : recorded.primary)) {
    if (!decision.labels.has(pod)) decision.labels.set(pod, role);
  }
  ({ follow: decision.follow, adopt: decision.adopt } = replicasToFollow(input, recorded, writable));
  return decision;
}
