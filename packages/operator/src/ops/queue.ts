import {
  isTerminalOpsPhase,
  type InstanceProgress,
  type OpsPhase,
  type OpsRequest,
  type OpsStep,
} from "@tessera/api";

// The pure rules of the operations runner: queue order, time limits and
// progress bookkeeping. The controller reads objects and writes status; every
// decision it takes from them is made here.

export function phaseOf(op: OpsRequest): OpsPhase {
  return op.status?.phase ?? "Pending";
}

function created(op: OpsRequest): number {
  return Date.parse(String(op.metadata.creationTimestamp ?? "")) || 0;
}

/**
 * The queue of one cluster: creation order, and for operations created in the
 * same second (the apiserver's resolution) name order, so every operator
 * replica and every restart agrees on it.
 */
export function queueOrder(ops: OpsRequest[]): OpsRequest[] {
  return [...ops].sort(
    (a, b) => created(a) - created(b) || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
}

/**
 * The operation to act on now: one already Running or Cancelling (at most one
 * ever is), else the first Pending one in queue order. Only it may start: an
 * operation never starts while another of its cluster runs, whatever the order.
 */
export function queueHead(ops: OpsRequest[]): OpsRequest | undefined {
  const active = queueOrder(ops).filter((op) => !isTerminalOpsPhase(phaseOf(op)));
  return active.find((op) => phaseOf(op) !== "Pending") ?? active[0];
}

function secondsAfter(start: string | undefined, seconds: number | undefined): number | undefined {
  if (!start || seconds === undefined) return undefined;
  const at = Date.parse(start);
  return Number.isNaN(at) ? undefined : at + seconds * 1000;
}

/** When a running operation is Aborted for its timeoutSeconds; undefined without one. */
export function timeoutAt(op: OpsRequest): number | undefined {
  return secondsAfter(op.status?.startTimestamp, op.spec.timeoutSeconds);
}

/** When a finished operation is deleted for its TTL; undefined when it is kept. */
export function expiresAt(op: OpsRequest): number | undefined {
  const phase = phaseOf(op);
  if (!isTerminalOpsPhase(phase)) return undefined;
  const ttl =
    phase === "Succeed" ? op.spec.ttlSecondsAfterSucceed : op.spec.ttlSecondsAfterUnsuccessfulCompletion;
  return secondsAfter(op.status?.completionTimestamp, ttl);
}

/** When a running operation that made no progress since `lastProgressTime` Fails. */
export function stalledAt(op: OpsRequest): number | undefined {
  return secondsAfter(
    op.status?.lastProgressTime ?? op.status?.startTimestamp,
    op.spec.progressDeadlineSeconds ?? 600,
  );
}

/**
 * The instances' new progress, keeping each one's `since` while its phase
 * stays the same; `changed` says whether any phase changed (that is progress).
 */
export function mergeInstances(
  previous: InstanceProgress[] | undefined,
  next: Omit<InstanceProgress, "since">[],
  now: string,
): { instances: InstanceProgress[]; changed: boolean } {
  const before = new Map((previous ?? []).map((i) => [`${i.component}/${i.name}/${i.action}`, i]));
  let changed = (previous ?? []).length !== next.length;
  const instances = next.map((instance) => {
    const old = before.get(`${instance.component}/${instance.name}/${instance.action}`);
    if (old?.phase === instance.phase) return { ...instance, since: old.since };
    changed = true;
    return { ...instance, since: now };
  });
  return { instances, changed };
}

/** `done/total` over the instances an operation acts on (steps when it acts on none). */
export function progressText(instances: InstanceProgress[], steps: OpsStep[]): string {
  if (instances.length === 0) {
    return `${steps.filter((s) => s.phase === "Succeed").length}/${steps.length}`;
  }
  return `${instances.filter((i) => i.phase === "Succeed").length}/${instances.length}`;
}

/** The instances not done yet, in the words of their messages: what a stalled operation waits for. */
export function waitingFor(instances: InstanceProgress[]): string {
  return instances
    .filter((i) => i.phase !== "Succeed")
    .map((i) => `${i.name} (${i.action} ${i.phase}${i.message ? `: ${i.message}` : ""})`)
    .join(", ");
}

/** The earliest of the given times still to come, as a delay from now (for a requeue). */
export function nextWake(now: number, ...times: (number | undefined)[]): number | undefined {
  const future = times.filter((t): t is number => t !== undefined).map((t) => Math.max(0, t - now));
  return future.length ? Math.min(...future) : undefined;
}
