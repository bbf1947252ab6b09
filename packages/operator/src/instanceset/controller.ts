import type { V1PersistentVolumeClaim, V1Pod, V1Service, V1StorageClass } from "@kubernetes/client-node";
import { API_VERSION, labels, type Component, type InstanceSet, type InstanceStatus } from "@tessera/api";
import { parseQuantity } from "@tessera/base";
import {
  Controller,
  OWNER_INDEX,
  errorMessage,
  isAlreadyExists,
  labelSelector,
  objectKey,
  updateStatus,
  type Informer,
  type ReconcileResult,
} from "@tessera/kube";
import { componentEnv, memberJoinEnv, memberLeaveEnv, type ComponentEnv } from "../actions/contract/index.js";
import { podIsReady, selectTargets, type ActionRunner } from "../actions/runner.js";
import { applyUnlessCurrent } from "../apply.js";
import { setCondition } from "../conditions.js";
import type { OperatorContext } from "../context.js";
import { buildClaims, buildPod, isForeignClaim } from "./pods.js";
import { instanceProblem, summariseNotReady } from "./readiness.js";
import { clearSwitchoverMarker, runSwitchover, switchoverInProgress } from "./switchover.js";
import {
  desiredInstances,
  isWritable,
  leavingMembers,
  nextToRemove,
  nextUpdateStep,
  ordinalOf,
  replacementHoldMs,
  FAILOVER_HOLD_MS,
  type DesiredInstance,
  type ObservedInstance,
} from "./plan.js";

const KIND = "InstanceSet";
const POLL_MS = 2_000;
/** How often a held replacement looks whether failover has promoted a replica. */
const HOLD_POLL_MS = 200;

type Step = { result: ReconcileResult; message: string } | undefined;

/** How long an instance may stay not ready before a rolling update treats it as broken. */
const BROKEN_AFTER_MS = 15_000;

function isBroken(pod: V1Pod, ready: boolean): boolean {
  if (ready) return false;
  const condition = pod.status?.conditions?.find((c) => c.type === "Ready");
  const since = Date.parse(String(condition?.lastTransitionTime ?? pod.metadata?.creationTimestamp ?? ""));
  return Number.isNaN(since) || Date.now() - since >= BROKEN_AFTER_MS;
}

function observe(pod: V1Pod): ObservedInstance {
  const ready = podIsReady(pod);
  return {
    name: pod.metadata!.name!,
    ordinal: ordinalOf(pod.metadata!.name!),
    role: pod.metadata?.labels?.[labels.role] || undefined,
    ready,
    broken: isBroken(pod, ready),
    revision: pod.metadata?.labels?.[labels.revision],
    terminating: Boolean(pod.metadata?.deletionTimestamp),
  };
}

/**
 * Owns the pods and PVCs of an InstanceSet: stable ordinal names, per-instance
 * templates, chosen-instance scale-in, membership actions, role-aware rolling
 * updates and online volume expansion. Pods are never managed through a
 * StatefulSet so each instance can be handled on its own.
 */
export class InstanceSetController {
  readonly controller: Controller;
  private readonly sets: Informer<InstanceSet>;
  private readonly pods: Informer<V1Pod>;
  private readonly claims: Informer<V1PersistentVolumeClaim>;
  private readonly services: Informer<V1Service>;
  private readonly storageClasses: Informer<V1StorageClass>;
  /** The owning Components, for their HA status: whom a deleted pod's failover is from. */
  private readonly components: Informer<Component>;
  /** When each pod (namespace/name) was last seen deleted. */
  private readonly deletedAt = new Map<string, number>();

  constructor(private readonly ctx: OperatorContext) {
    const managed = { labelSelector: `${labels.managedBy}=tessera` };
    this.sets = ctx.informers.get<InstanceSet>(API_VERSION, KIND);
    this.pods = ctx.informers.get<V1Pod>("v1", "Pod", managed);
    this.claims = ctx.informers.get<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", managed);
    this.storageClasses = ctx.informers.get<V1StorageClass>("storage.k8s.io/v1", "StorageClass");
    this.services = ctx.informers.get<V1Service>("v1", "Service", managed);
    this.components = ctx.informers.get<Component>(API_VERSION, "Component");
    this.pods.addHandlers({ delete: (pod) => this.noteDeleted(pod) });
    this.controller = new Controller({
      name: "instanceset",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 4,
      logger: ctx.logger,
    })
      .watches(this.sets)
      .owns(this.pods, KIND)
      .watchesMapped(this.claims, (pvc) => this.setsOf(pvc));
  }

  private get actions(): ActionRunner {
    return this.ctx.actions;
  }

  private setsOf(pvc: V1PersistentVolumeClaim): string[] {
    const namespace = pvc.metadata?.namespace;
    return this.sets
      .list(namespace)
      .filter((set) =>
        Object.entries(set.spec.selector.matchLabels).every(([k, v]) => pvc.metadata?.labels?.[k] === v),
      )
      .map(objectKey);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.sets.get(key);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const set = structuredClone(cached);
    const pods = this.pods.byIndex(OWNER_INDEX, set.metadata.uid!).map((p) => structuredClone(p));
    await this.settleSwitchover(set, pods);
    const step =
      (await this.ensureHeadlessService(set)) ??
      (await this.removeFinishedPods(pods)) ??
      (await this.scaleIn(set, pods)) ??
      (await this.createMissing(set, pods)) ??
      (await this.expandVolumes(set, pods)) ??
      (await this.rollingUpdate(set, pods)) ??
      (await this.joinMembers(set, pods));
    await this.writeStatus(set, pods, step?.message);
    return step?.result ?? (this.hasPendingWork(set, pods) ? { requeueAfterMs: POLL_MS } : undefined);
  }

  private desired(set: InstanceSet): DesiredInstance[] {
    return set.spec.stopped ? [] : desiredInstances(set.metadata.name!, set.spec);
  }

  private hasPendingWork(set: InstanceSet, pods: V1Pod[]): boolean {
    return pods.some((p) => !podIsReady(p)) || pods.length !== this.desired(set).length;
  }

  private async ensureHeadlessService(set: InstanceSet): Promise<Step> {
    const service: V1Service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: set.spec.serviceName,
        namespace: set.metadata.namespace,
        labels: set.spec.selector.matchLabels,
        ownerReferences: [ownerRef(set)],
      },
      spec: {
        clusterIP: "None",
        publishNotReadyAddresses: true,
        selector: set.spec.selector.matchLabels,
        ports: portsOf(set),
      },
    };
    await applyUnlessCurrent(this.ctx.client, this.services, service);
    return undefined;
  }

  /** Pods that ended (evicted, or a Never/OnFailure pod that exited) are replaced. */
  private async removeFinishedPods(pods: V1Pod[]): Promise<Step> {
    for (const pod of pods) {
      const phase = pod.status?.phase;
      if ((phase === "Failed" || phase === "Succeeded") && !pod.metadata?.deletionTimestamp) {
        await this.ctx.client.delete(podRef(pod));
        return { result: { requeueAfterMs: 500 }, message: `replacing ${pod.metadata?.name} (${phase})` };
      }
    }
    return undefined;
  }

  private async scaleIn(set: InstanceSet, pods: V1Pod[]): Promise<Step> {
    const wanted = new Set(this.desired(set).map((d) => d.name));
    const surplus = pods.filter((p) => !wanted.has(p.metadata!.name!));
    if (set.spec.stopped) {
      for (const pod of surplus.filter((p) => !p.metadata?.deletionTimestamp))
        await this.ctx.client.delete(podRef(pod));
      return surplus.length ? { result: { requeueAfterMs: 1000 }, message: "stopping instances" } : undefined;
    }
    await this.removeOrphanClaims(set, pods, wanted);
    if (surplus.length === 0) return undefined;
    if (surplus.some((p) => p.metadata?.deletionTimestamp)) {
      return { result: { requeueAfterMs: 1000 }, message: "waiting for removed instances to terminate" };
    }
    const victim = nextToRemove(surplus.map(observe), set.spec.roles ?? [])!;
    const pod = surplus.find((p) => p.metadata?.name === victim.name)!;
    if (isWritable(victim.role, set.spec.roles ?? []) && pods.length > 1) {
      const moved = await this.switchover(set, pods, victim.name);
      if (moved) return moved;
    }
    const leave = set.spec.lifecycleActions?.memberLeave;
    const joined = set.status?.instances?.find((i) => i.name === victim.name)?.memberJoined;
    if (leave && joined) {
      try {
        await this.actions.run("memberLeave", leave, {
          namespace: set.metadata.namespace!,
          pods,
          roles: set.spec.roles,
          env: memberLeaveEnv(this.componentEnv(set), victim.name),
        });
      } catch (error) {
        await this.ctx.recorder.record(set, "Warning", "MemberLeaveFailed", errorMessage(error));
        return {
          result: { requeueAfterMs: 5000 },
          message: `memberLeave for ${victim.name} failed: ${errorMessage(error)}`,
        };
      }
    }
    await this.ctx.client.delete(podRef(pod));
    await this.ctx.recorder.record(set, "Normal", "InstanceRemoved", `removed instance ${victim.name}`);
    return { result: { requeueAfterMs: 500 }, message: `removing instance ${victim.name}` };
  }

  /** PVCs of instances that no longer exist and are not wanted: the data of a scaled-in instance. */
  private async removeOrphanClaims(set: InstanceSet, pods: V1Pod[], wanted: Set<string>): Promise<void> {
    const present = new Set(pods.map((p) => p.metadata!.name!));
    for (const pvc of this.claimsOf(set)) {
      const instance = pvc.metadata?.labels?.[labels.podName];
      if (!instance || wanted.has(instance) || present.has(instance) || pvc.metadata?.deletionTimestamp)
        continue;
      await this.ctx.client.delete(claimRef(pvc));
      await this.ctx.recorder.record(
        set,
        "Normal",
        "VolumeRemoved",
        `deleted ${pvc.metadata?.name} of removed instance ${instance}`,
      );
    }
  }

  private claimsOf(set: InstanceSet): V1PersistentVolumeClaim[] {
    return this.claims
      .list(set.metadata.namespace)
      .filter((pvc) =>
        Object.entries(set.spec.selector.matchLabels).every(([k, v]) => pvc.metadata?.labels?.[k] === v),
      );
  }

  private async createMissing(set: InstanceSet, pods: V1Pod[]): Promise<Step> {
    const existing = new Map(pods.map((p) => [p.metadata!.name!, p]));
    let created = 0;
    const unbound: string[] = [];
    const foreign: string[] = [];
    const going: string[] = [];
    const held: string[] = [];
    let holdMs = Infinity;
    for (const instance of this.desired(set)) {
      const pod = existing.get(instance.name);
      if (pod) {
        if (set.spec.podManagementPolicy === "OrderedReady" && !podIsReady(pod)) break;
        continue;
      }
      const hold = this.replacementHold(set, instance.name, pods);
      if (hold > 0) {
        held.push(instance.name);
        holdMs = Math.min(holdMs, hold);
        continue;
      }
      const ensured = await Promise.all(buildClaims(set, instance).map((claim) => this.ensureClaim(claim)));
      const claims = ensured.map((e) => e.claim);
      if (ensured.some((e) => e.created)) await this.forgetJoin(set, instance.name);
      const others = claims.filter((claim) => isForeignClaim(claim, set));
      const waitingFor = claims.filter((claim) => !this.readyForScheduling(claim));
      const deleting = claims.filter((claim) => claim.metadata?.deletionTimestamp);
      if (deleting.length) {
        // A pod started on a claim being deleted could never be scheduled: the claim goes first.
        going.push(...deleting.map((claim) => claim.metadata!.name!));
      } else if (others.length) {
        foreign.push(...others.map((claim) => claim.metadata!.name!));
      } else if (waitingFor.length) {
        unbound.push(...waitingFor.map((claim) => claim.metadata!.name!));
      } else {
        const { pod: built } = buildPod(set, instance);
        await this.ctx.client.create(built).catch((error) => {
          if (!isAlreadyExists(error)) throw error;
        });
        created++;
      }
      if (set.spec.podManagementPolicy === "OrderedReady") break;
    }
    if (!created && !unbound.length && !foreign.length && !going.length && !held.length) return undefined;
    const messages = [
      ...(created ? [`creating ${created} instance(s)`] : []),
      ...(held.length
        ? [
            `replacing deleted ${held.join(", ")} once failover has promoted a replica (within ${FAILOVER_HOLD_MS / 1000} s of the deletion)`,
          ]
        : []),
      ...(unbound.length ? [`waiting for claim(s) ${unbound.join(", ")} to bind`] : []),
      ...(foreign.length
        ? [`waiting for claim(s) ${foreign.join(", ")} of a deleted cluster of the same name to be removed`]
        : []),
      ...(going.length ? [`waiting for deleted claim(s) ${going.join(", ")} to go`] : []),
    ];
    return {
      result: { requeueAfterMs: held.length ? Math.min(HOLD_POLL_MS, holdMs) : 1000 },
      message: messages.join("; "),
    };
  }

  private noteDeleted(pod: V1Pod): void {
    const now = Date.now();
    for (const [key, at] of this.deletedAt) if (now - at > FAILOVER_HOLD_MS) this.deletedAt.delete(key);
    this.deletedAt.set(objectKey(pod), now);
  }

  private replacementHold(set: InstanceSet, instance: string, pods: V1Pod[]): number {
    return replacementHoldMs({
      instance,
      ha: this.components.get(objectKey(set))?.status?.ha,
      arbitrated: Boolean(set.spec.lifecycleActions?.promote),
      deletedAt: this.deletedAt.get(
        objectKey({ metadata: { name: instance, namespace: set.metadata.namespace } }),
      ),
      othersReady: pods.some(
        (p) => p.metadata?.name !== instance && podIsReady(p) && !p.metadata?.deletionTimestamp,
      ),
      now: Date.now(),
    });
  }

  private async ensureClaim(
    claim: V1PersistentVolumeClaim,
  ): Promise<{ claim: V1PersistentVolumeClaim; created: boolean }> {
    const cached = this.claims.get(objectKey(claim));
    if (cached) return { claim: cached, created: false };
    try {
      return { claim: await this.ctx.client.create(claim), created: true };
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      return { claim: await this.ctx.client.get<V1PersistentVolumeClaim>(claimRef(claim)), created: false };
    }
  }

  /**
   * An instance given a new, empty volume (a rebuild, an instance back
   * online) is a new member: memberJoin runs for it again.
   */
  private async forgetJoin(set: InstanceSet, name: string): Promise<void> {
    if (!set.status?.instances?.some((i) => i.name === name && i.memberJoined)) return;
    const stored = await updateStatus<InstanceSet>(this.ctx.client, setRef(set), (s) => {
      const entry = s.status?.instances?.find((i) => i.name === name);
      if (entry) delete entry.memberJoined;
    });
    if (stored) set.status = stored.status;
  }

  /**
   * A claim of an Immediate-binding class is bound without a pod. A pod
   * created before its claims bind fails its first scheduling attempt and
   * then waits out the scheduler's backoff (a second), so it is created once
   * they are bound. Claims of WaitForFirstConsumer classes bind only once
   * the scheduler placed their pod.
   */
  private readyForScheduling(claim: V1PersistentVolumeClaim): boolean {
    return claim.status?.phase === "Bound" || this.classOf(claim)?.volumeBindingMode !== "Immediate";
  }

  private classOf(claim: V1PersistentVolumeClaim): V1StorageClass | undefined {
    const className = claim.spec?.storageClassName;
    return className ? this.storageClasses.get(className) : undefined;
  }

  /** Grows PVCs to the size their template asks for (online when the StorageClass allows expansion). */
  private async expandVolumes(set: InstanceSet, pods: V1Pod[]): Promise<Step> {
    const byName = new Map(this.claimsOf(set).map((c) => [c.metadata!.name!, c]));
    for (const pod of pods) {
      const instance = this.desired(set).find((d) => d.name === pod.metadata?.name);
      if (!instance) continue;
      for (const wanted of buildClaims(set, instance)) {
        const current = byName.get(wanted.metadata!.name!);
        const want = parseQuantity(wanted.spec!.resources!.requests!.storage);
        const have = parseQuantity(current?.spec?.resources?.requests?.storage);
        if (!current || want === undefined || have === undefined || want <= have) continue;
        if (!this.classOf(current)?.allowVolumeExpansion) {
          return {
            result: { requeueAfterMs: 30_000 },
            message: `cannot expand ${current.metadata?.name}: StorageClass "${current.spec?.storageClassName ?? ""}" does not allow volume expansion`,
          };
        }
        await this.ctx.client.patch(
          claimRef(current),
          { spec: { resources: { requests: { storage: wanted.spec!.resources!.requests!.storage } } } },
          "merge",
        );
        await this.ctx.recorder.record(
          set,
          "Normal",
          "VolumeExpanding",
          `expanding ${current.metadata?.name} to ${wanted.spec!.resources!.requests!.storage}`,
        );
      }
    }
    return undefined;
  }

  private async rollingUpdate(set: InstanceSet, pods: V1Pod[]): Promise<Step> {
    const desired = new Map(this.desired(set).map((d) => [d.name, d]));
    const current = pods.filter((p) => desired.has(p.metadata!.name!));
    await this.syncInPlaceMetadata(set, current, desired);
    const roles = set.spec.roles ?? [];
    const step = nextUpdateStep({
      instances: current.map(observe),
      desiredRevision: (name) => buildPod(set, desired.get(name)!).revision,
      roles,
      strategy: set.spec.updateStrategy,
      canSwitchover: Boolean(set.spec.lifecycleActions?.switchover),
    });
    switch (step.kind) {
      case "done":
        return undefined;
      case "wait":
        return { result: { requeueAfterMs: 1000 }, message: `updating: ${step.reason}` };
      case "switchover":
        return (
          (await this.switchover(set, current, step.pod)) ?? {
            result: { requeueAfterMs: 200 },
            message: "switchover done",
          }
        );
      case "recreate":
        for (const name of step.pods) {
          const pod = current.find((p) => p.metadata?.name === name)!;
          await this.ctx.client.delete(podRef(pod), { preconditions: { uid: pod.metadata!.uid! } });
          await this.ctx.recorder.record(
            set,
            "Normal",
            "InstanceUpdating",
            `recreating ${name} with the new revision`,
          );
        }
        return { result: { requeueAfterMs: 1000 }, message: `updating ${step.pods.join(", ")}` };
    }
  }

  /** Labels and annotations that do not change the revision are updated without a restart. */
  private async syncInPlaceMetadata(set: InstanceSet, pods: V1Pod[], desired: Map<string, DesiredInstance>) {
    for (const pod of pods) {
      const { pod: built, revision } = buildPod(set, desired.get(pod.metadata!.name!)!);
      if (pod.metadata?.labels?.[labels.revision] !== revision) continue;
      const wantLabels = built.metadata!.labels!;
      const wantAnnotations = built.metadata!.annotations ?? {};
      const labelDiff = Object.entries(wantLabels).filter(([k, v]) => pod.metadata?.labels?.[k] !== v);
      const annotationDiff = Object.entries(wantAnnotations).filter(
        ([k, v]) => pod.metadata?.annotations?.[k] !== v,
      );
      if (labelDiff.length === 0 && annotationDiff.length === 0) continue;
      await this.ctx.client.patch(
        podRef(pod),
        {
          metadata: {
            labels: Object.fromEntries(labelDiff),
            annotations: Object.fromEntries(annotationDiff),
          },
        },
        "merge",
      );
    }
  }

  /**
   * Moves the writable role away from `podName` (see `runSwitchover`) to the
   * lowest-ordinal other ready instance. Returns a step while the switchover
   * is in progress.
   */
  private async switchover(set: InstanceSet, pods: V1Pod[], podName: string): Promise<Step> {
    const action = set.spec.lifecycleActions?.switchover;
    const roles = set.spec.roles ?? [];
    const pod = pods.find((p) => p.metadata?.name === podName);
    if (!action || !pod || !isWritable(pod.metadata?.labels?.[labels.role], roles)) {
      if (set.status?.switchover) await clearSwitchoverMarker(this.ctx, set);
      return undefined;
    }
    if (set.status?.switchover?.pod === podName && switchoverInProgress(set)) {
      return { result: { requeueAfterMs: 500 }, message: `waiting for the switchover away from ${podName}` };
    }
    const candidate = pods
      .filter((p) => p !== pod && podIsReady(p) && !p.metadata?.deletionTimestamp)
      .sort((a, b) => ordinalOf(a.metadata!.name!) - ordinalOf(b.metadata!.name!))[0];
    try {
      await runSwitchover(this.ctx, set, pods, podName, candidate?.metadata?.name);
    } catch (error) {
      return {
        result: { requeueAfterMs: 10_000 },
        message: `switchover from ${podName} failed: ${errorMessage(error)}`,
      };
    }
    return { result: { requeueAfterMs: 500 }, message: `waiting for ${podName} to lose the writable role` };
  }

  /**
   * A recorded switchover is over once its candidate holds the writable role
   * (or, without a candidate, once the old pod lost it), or once another pod
   * holds it: engines that elect the new primary themselves may pick another replica, and only the recorded primary carries the
   * writable label, so a label elsewhere means the role was adopted. Clearing
   * it earlier would let the HA loop mistake the promoted candidate for a
   * stale primary.
   */
  private async settleSwitchover(set: InstanceSet, pods: V1Pod[]): Promise<void> {
    const marker = set.status?.switchover;
    if (!marker) return;
    const roles = set.spec.roles ?? [];
    const roleOf = (name: string) =>
      pods.find((p) => p.metadata?.name === name)?.metadata?.labels?.[labels.role];
    const movedElsewhere =
      !isWritable(roleOf(marker.pod), roles) &&
      pods.some(
        (p) => p.metadata?.name !== marker.pod && isWritable(p.metadata?.labels?.[labels.role], roles),
      );
    const done = marker.candidate
      ? isWritable(roleOf(marker.candidate), roles) || movedElsewhere
      : !isWritable(roleOf(marker.pod), roles);
    if (!switchoverInProgress(set) || done) await clearSwitchoverMarker(this.ctx, set);
  }

  /** memberJoin runs once per instance, after the instance is ready; the result is kept in status. */
  private async joinMembers(set: InstanceSet, pods: V1Pod[]): Promise<Step> {
    const join = set.spec.lifecycleActions?.memberJoin;
    if (!join) return undefined;
    const joined = new Set((set.status?.instances ?? []).filter((i) => i.memberJoined).map((i) => i.name));
    const ns = set.metadata.namespace!;
    const hasTarget = selectTargets(join, { pods, roles: set.spec.roles }).length > 0;
    for (const pod of pods) {
      const name = pod.metadata!.name!;
      if (joined.has(name) || !podIsReady(pod)) continue;
      // Typically the primary is not labelled yet: the label change brings the set back here.
      if (!hasTarget) {
        return {
          result: { requeueAfterMs: POLL_MS },
          message: `memberJoin for ${name} waits for a pod to run it in`,
        };
      }
      try {
        await this.actions.run("memberJoin", join, {
          namespace: ns,
          pods,
          roles: set.spec.roles,
          env: memberJoinEnv(this.componentEnv(set), name),
        });
      } catch (error) {
        await this.ctx.recorder.record(set, "Warning", "MemberJoinFailed", errorMessage(error));
        return {
          result: { requeueAfterMs: 5000 },
          message: `memberJoin for ${name} failed: ${errorMessage(error)}`,
        };
      }
      const stored = await updateStatus<InstanceSet>(this.ctx.client, setRef(set), (s) => {
        const instances = s.status?.instances ?? [];
        const entry = instances.find((i) => i.name === name);
        if (entry) entry.memberJoined = true;
        else instances.push({ name, ordinal: ordinalOf(name), ready: true, memberJoined: true });
        s.status = { ...s.status, instances };
      });
      if (stored) set.status = stored.status;
    }
    return undefined;
  }

  private componentEnv(set: InstanceSet): ComponentEnv {
    return componentEnv(set.metadata.namespace!, set.spec.serviceName, set);
  }

  private async writeStatus(set: InstanceSet, pods: V1Pod[], message: string | undefined): Promise<void> {
    const desired = this.desired(set);
    const byName = new Map(pods.map((p) => [p.metadata!.name!, p]));
    const previous = new Map((set.status?.instances ?? []).map((i) => [i.name, i]));
    const instances: InstanceStatus[] = [];
    let updated = 0;
    let ready = 0;
    const revisions = new Set<string>();
    for (const d of desired) {
      const pod = byName.get(d.name);
      const revision = buildPod(set, d).revision;
      revisions.add(revision);
      const podRevision = pod?.metadata?.labels?.[labels.revision];
      const isReady = pod ? podIsReady(pod) && !pod.metadata?.deletionTimestamp : false;
      if (isReady) ready++;
      if (pod && podRevision === revision) updated++;
      const joined = previous.get(d.name)?.memberJoined ?? false;
      const problem = pod && !isReady ? instanceProblem(pod) : undefined;
      instances.push({
        name: d.name,
        ordinal: d.ordinal,
        ...(d.template ? { template: d.template.name } : {}),
        ...(pod?.metadata?.labels?.[labels.role] ? { role: pod.metadata.labels[labels.role] } : {}),
        ready: isReady,
        ...(podRevision ? { revision: podRevision } : {}),
        ...(joined ? { memberJoined: true } : {}),
        ...problem,
      });
    }
    // With a memberJoin action, an instance counts as a member only once it ran for it.
    const joining = set.spec.lifecycleActions?.memberJoin
      ? instances.filter((i) => !i.memberJoined).length
      : 0;
    const wanted = new Set(desired.map((d) => d.name));
    instances.push(...leavingMembers(set.status?.instances ?? [], wanted, pods.map(observe)));
    // Instances being removed (scale-in, offlineInstances) keep the set from being settled until they are gone.
    const leaving = pods.filter((p) => !wanted.has(p.metadata!.name!)).length;
    const settled = updated === desired.length && ready === desired.length && leaving === 0 && joining === 0;
    const progress =
      message ??
      `${ready}/${desired.length} instances ready, ${updated} updated` +
        (joining ? `, ${joining} not joined yet` : "") +
        (leaving ? `, ${leaving} being removed` : "");
    // Which instance is stuck and why (the scheduler's or the node's words), not only how many.
    const problems = summariseNotReady(instances);
    await updateStatus<InstanceSet>(this.ctx.client, setRef(set), (s) => {
      s.status = {
        ...s.status,
        observedGeneration: set.metadata.generation,
        replicas: desired.length,
        readyReplicas: ready,
        availableReplicas: ready,
        updatedReplicas: updated,
        selector: labelSelector(set.spec.selector.matchLabels),
        updateRevision: [...revisions].sort().join(","),
        instances,
        conditions: setCondition(
          s.status?.conditions,
          {
            type: "Ready",
            status: settled,
            reason: settled ? "AllInstancesReady" : "Progressing",
            message: settled
              ? `${ready}/${desired.length} instances ready and updated`
              : problems
                ? `${progress}; ${problems}`
                : progress,
          },
          set.metadata.generation,
        ),
      };
      // A set with no instances (stopped) runs no revision, and the apiserver refuses an empty one.
      if (revisions.size === 0) delete s.status.updateRevision;
      else if (settled) s.status.currentRevision = s.status.updateRevision;
    });
  }
}

function ownerRef(set: InstanceSet) {
  return {
    apiVersion: set.apiVersion,
    kind: set.kind,
    name: set.metadata.name!,
    uid: set.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function portsOf(set: InstanceSet) {
  const spec = (
    set.spec.template as { spec?: { containers?: { ports?: { name?: string; containerPort: number }[] }[] } }
  ).spec;
  const ports = (spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  // Server-side apply on 1.20 needs the protocol: it is part of the ports list key.
  return ports.map((p, i) => ({
    name: p.name ?? `port-${i}`,
    port: p.containerPort,
    targetPort: p.containerPort,
    protocol: "TCP",
  }));
}

function setRef(set: InstanceSet) {
  return { apiVersion: API_VERSION, kind: KIND, namespace: set.metadata.namespace, name: set.metadata.name! };
}

function podRef(pod: V1Pod) {
  return { apiVersion: "v1", kind: "Pod", namespace: pod.metadata!.namespace, name: pod.metadata!.name! };
}

function claimRef(pvc: V1PersistentVolumeClaim) {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    namespace: pvc.metadata!.namespace,
    name: pvc.metadata!.name!,
  };
}
