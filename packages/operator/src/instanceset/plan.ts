import type { HAStatus, InstanceSetSpec, InstanceStatus, InstanceTemplate, Role } from "@tessera/api";

export interface DesiredInstance {
  name: string;
  ordinal: number;
  /** The instance template it comes from; undefined for the default template. */
  template?: InstanceTemplate;
}

function takeOrdinals(prefix: string, count: number, offline: Set<string>, template?: InstanceTemplate) {
  const instances: DesiredInstance[] = [];
  for (let ordinal = 0; instances.length < count; ordinal++) {
    const name = `${prefix}-${ordinal}`;
    if (!offline.has(name)) instances.push({ name, ordinal, template });
  }
  return instances;
}

/**
 * The instances an InstanceSet should have: each instance template gets
 * `<set>-<template>-<n>`, the rest of `replicas` the default `<set>-<n>`.
 * Offline instances are skipped (their ordinals stay unused), so taking
 * one instance offline removes exactly that one.
 */
export function desiredInstances(
  setName: string,
  spec: Pick<InstanceSetSpec, "replicas" | "instances" | "offlineInstances">,
): DesiredInstance[] {
  const offline = new Set(spec.offlineInstances ?? []);
  const templates = spec.instances ?? [];
  const templated = templates.reduce((sum, t) => sum + (t.replicas ?? 1), 0);
  const result = takeOrdinals(setName, Math.max(0, spec.replicas - templated), offline);
  for (const template of templates) {
    result.push(...takeOrdinals(`${setName}-${template.name}`, template.replicas ?? 1, offline, template));
  }
  return result;
}

export interface ObservedInstance {
  name: string;
  ordinal: number;
  role?: string;
  ready: boolean;
  /** Not ready for longer than a passing overload explains: waiting will not make it ready. */
  broken: boolean;
  revision?: string;
  /** The pod is being deleted. */
  terminating: boolean;
}

export type UpdateStep =
  | { kind: "done" }
  | { kind: "wait"; reason: string }
  | { kind: "switchover"; pod: string }
  | { kind: "recreate"; pods: string[] };

export interface UpdateInput {
  instances: ObservedInstance[];
  desiredRevision: (name: string) => string;
  roles: Role[];
  strategy: "Serial" | "Parallel";
  /** Whether a switchover action exists to move the writable role away first. */
  canSwitchover: boolean;
}

/** Lower updatePriority first; pods without a role before everything. */
function updateRank(instance: ObservedInstance, roles: Role[]): number {
  return roles.find((r) => r.name === instance.role)?.updatePriority ?? -1;
}

export function isWritable(role: string | undefined, roles: Role[]): boolean {
  return role !== undefined && roles.some((r) => r.name === role && r.writable);
}

/**
 * The next step of a role-aware rolling update: secondaries before the
 * primary (lowest updatePriority first, highest ordinal first within a
 * priority), one at a time for Serial; the writable instance is switched
 * over before it is replaced whenever another ready instance can take over.
 */
export function nextUpdateStep(input: UpdateInput): UpdateStep {
  const outdated = input.instances.filter((i) => i.revision !== input.desiredRevision(i.name));
  if (outdated.length === 0) return { kind: "done" };
  if (input.instances.some((i) => i.terminating))
    return { kind: "wait", reason: "an instance is terminating" };
  const ordered = [...outdated].sort(
    (a, b) => updateRank(a, input.roles) - updateRank(b, input.roles) || b.ordinal - a.ordinal,
  );
  if (input.strategy === "Parallel") return { kind: "recreate", pods: ordered.map((i) => i.name) };
  // A broken outdated instance cannot get better by waiting: replace it first. One that is only
  // briefly not ready (a slow probe under load) is waited for, or a primary would lose its switchover.
  const broken = ordered.find((i) => i.broken);
  if (broken) return { kind: "recreate", pods: [broken.name] };
  const notReady = input.instances.find((i) => !i.ready);
  if (notReady) return { kind: "wait", reason: `waiting for ${notReady.name} to become ready` };
  const next = ordered[0]!;
  if (isWritable(next.role, input.roles) && input.canSwitchover) {
    const others = input.instances.filter((i) => i.name !== next.name && i.ready);
    if (others.length > 0) return { kind: "switchover", pod: next.name };
  }
  return { kind: "recreate", pods: [next.name] };
}

/**
 * Which existing instance to remove next on scale-in: the writable one last,
 * otherwise the highest ordinal first.
 */
export function nextToRemove(surplus: ObservedInstance[], roles: Role[]): ObservedInstance | undefined {
  return [...surplus].sort(
    (a, b) => Number(isWritable(a.role, roles)) - Number(isWritable(b.role, roles)) || b.ordinal - a.ordinal,
  )[0];
}

/**
 * Status entries to keep for instances that are no longer desired but still
 * exist and joined the membership: scale-in removes them one at a time and
 * runs memberLeave for each, so their record must outlive the status writes
 * in between.
 */
export function leavingMembers(
  previous: InstanceStatus[],
  desired: Set<string>,
  present: ObservedInstance[],
): InstanceStatus[] {
  const recorded = new Map(previous.map((i) => [i.name, i]));
  return present.flatMap((instance) => {
    const entry = recorded.get(instance.name);
    if (desired.has(instance.name) || !entry?.memberJoined) return [];
    return [{ ...entry, ready: instance.ready && !instance.terminating }];
  });
}

/** The longest a deleted primary's replacement waits for the failover its deletion set off. */
export const FAILOVER_HOLD_MS = 5_000;

/**
 * How long the replacement of a deleted instance's pod should still wait, in ms (0: create it now).
 * A primary whose running pod was deleted is failed over from at once; its replacement, started
 * meanwhile, would compete with the replicas' detach and promotion for the node, and could only
 * start to find itself fenced. So, where the operator arbitrates failover, it waits until a replica
 * is promoted, as long as another instance is ready to take over, and never longer than
 * FAILOVER_HOLD_MS after the deletion: a failover that cannot finish must not keep the instance away.
 */
export function replacementHoldMs(input: {
  instance: string;
  ha: HAStatus | undefined;
  arbitrated: boolean;
  deletedAt: number | undefined;
  othersReady: boolean;
  now: number;
}): number {
  const { instance, ha, deletedAt, now } = input;
  if (!ha || !input.arbitrated || deletedAt === undefined || !input.othersReady) return 0;
  const failingOver =
    ha.primary === instance ||
    ha.fencing?.from === instance ||
    (ha.promotePending === true && ha.lastFailover?.from === instance);
  return failingOver ? Math.max(0, deletedAt + FAILOVER_HOLD_MS - now) : 0;
}

/** Extracts the ordinal from `<prefix>-<n>`. */
export function ordinalOf(name: string): number {
  const match = /-(\d+)$/.exec(name);
  return match ? Number(match[1]) : -1;
}
