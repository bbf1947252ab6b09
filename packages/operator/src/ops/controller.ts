import type { V1PersistentVolumeClaim, V1Pod, V1StorageClass } from "@kubernetes/client-node";
import {
  API_VERSION,
  isTerminalOpsPhase,
  labels,
  type Cluster,
  type Component,
  type InstanceProgress,
  type InstanceSet,
  type OpsPhase,
  type OpsRequest,
  type OpsStep,
} from "@tessera/api";
import {
  ApiError,
  Controller,
  errorMessage,
  objectKey,
  updateStatus,
  type Informer,
  type ReconcileResult,
} from "@tessera/kube";
import { setCondition } from "../conditions.js";
import type { OperatorContext } from "../context.js";
import { DefinitionError, resolveCluster, type DefinitionCatalog } from "../definitions.js";
import { names } from "../naming.js";
import { ClusterWriteRefused } from "./cluster-spec.js";
import type { ClusterView, OpsHandler, StepOutcome } from "./handler.js";
import { handlers } from "./handlers/index.js";
import {
  expiresAt,
  mergeInstances,
  nextWake,
  phaseOf,
  progressText,
  queueHead,
  stalledAt,
  timeoutAt,
  waitingFor,
} from "./queue.js";
import { validateOpsRequest } from "./validate.js";
import { rfc3339 } from "../time.js";

const KIND = "OpsRequest";
/** How often a running operation looks at its cluster even when no event arrives. */
const POLL_MS = 2_000;

function ref(op: OpsRequest) {
  return { apiVersion: API_VERSION, kind: KIND, namespace: op.metadata.namespace, name: op.metadata.name! };
}

/** The queue an operation belongs to: its cluster's key. */
function queueKey(op: OpsRequest): string {
  return `${op.metadata.namespace}/${op.spec.clusterName}`;
}

/**
 * The operations runner. Its work queue is keyed by cluster, so the
 * operations of one cluster are handled by one worker at a time, in queue
 * order (see `queueHead`): at most one runs, the others wait. The running
 * one goes step by step through its handler; everything it decides is
 * persisted in its status before it acts on it, so an operator stopped at
 * any point carries on where it was.
 */
export class OpsController {
  readonly controller: Controller;
  private readonly ops: Informer<OpsRequest>;
  private readonly clusters: Informer<Cluster>;
  private readonly components: Informer<Component>;
  private readonly sets: Informer<InstanceSet>;
  private readonly pods: Informer<V1Pod>;
  private readonly storageClasses: Informer<V1StorageClass>;
  private readonly claims: Informer<V1PersistentVolumeClaim>;

  constructor(
    private readonly ctx: OperatorContext,
    private readonly catalog: DefinitionCatalog,
  ) {
    const managed = { labelSelector: `${labels.managedBy}=tessera` };
    this.ops = ctx.informers.get<OpsRequest>(API_VERSION, KIND);
    this.clusters = ctx.informers.get<Cluster>(API_VERSION, "Cluster");
    this.components = ctx.informers.get<Component>(API_VERSION, "Component");
    this.sets = ctx.informers.get<InstanceSet>(API_VERSION, "InstanceSet");
    this.pods = ctx.informers.get<V1Pod>("v1", "Pod", managed);
    this.storageClasses = ctx.informers.get<V1StorageClass>("storage.k8s.io/v1", "StorageClass");
    this.claims = ctx.informers.get<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", managed);
    // What the cluster's objects do moves a running operation on; clusters without one are not woken.
    const clusterOf = (object: { metadata?: { namespace?: string; labels?: Record<string, string> } }) => {
      const key = `${object.metadata?.namespace}/${object.metadata?.labels?.[labels.cluster]}`;
      return this.hasActive(key) ? [key] : [];
    };
    this.controller = new Controller({
      name: "ops",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 4,
      logger: ctx.logger,
    })
      .watchesMapped(this.ops, (op) => [queueKey(op)])
      .watchesMapped(this.clusters, (cluster) => {
        const key = objectKey(cluster);
        return this.hasActive(key) ? [key] : [];
      })
      .watchesMapped(this.components, clusterOf)
      .watchesMapped(this.sets, clusterOf)
      .watchesMapped(this.pods, clusterOf)
      .watchesMapped(this.claims, clusterOf);
  }

  private queue(key: string): OpsRequest[] {
    const [namespace, cluster] = key.split("/") as [string, string];
    return this.ops
      .list(namespace)
      .filter((op) => op.spec.clusterName === cluster && !op.metadata.deletionTimestamp);
  }

  private hasActive(key: string): boolean {
    return this.queue(key).some((op) => !isTerminalOpsPhase(phaseOf(op)));
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const ops = this.queue(key);
    const now = Date.now();
    const wakes: (number | undefined)[] = [];
    for (const op of ops) {
      const expiry = expiresAt(op);
      if (expiry !== undefined && expiry <= now) {
        await this.ctx.client.delete(ref(op), { preconditions: { uid: op.metadata.uid! } });
      } else {
        wakes.push(expiry);
      }
    }
    const cluster = this.clusters.get(key);
    for (const op of ops) {
      if (cluster && !isTerminalOpsPhase(phaseOf(op))) await this.adopt(op, cluster);
    }
    const head = queueHead(ops);
    for (const op of ops) {
      if (op === head || phaseOf(op) !== "Pending") continue;
      if (op.spec.cancel) {
        await this.finish(
          op,
          "Cancelled",
          "CancelledWhilePending",
          "cancelled before it started; nothing was changed",
        );
      } else {
        await this.markQueued(op, head!);
      }
    }
    if (head) {
      const after = await this.advance(head);
      wakes.push(after === undefined ? undefined : now + after);
    }
    const delay = nextWake(now, ...wakes);
    return delay === undefined ? undefined : { requeueAfterMs: delay };
  }

  /**
   * Makes the cluster an owner of the operation, so operations go with their
   * cluster (by garbage collection) and never act on a new cluster of the same name.
   */
  private async adopt(op: OpsRequest, cluster: Cluster): Promise<void> {
    const owners = op.metadata.ownerReferences ?? [];
    if (owners.some((o) => o.uid === cluster.metadata.uid)) return;
    const owner = {
      apiVersion: API_VERSION,
      kind: "Cluster",
      name: cluster.metadata.name!,
      uid: cluster.metadata.uid!,
    };
    // Tested against the version read, so a stale cache never adds the owner twice.
    await this.ctx.client
      .patch(
        ref(op),
        [
          { op: "test", path: "/metadata/resourceVersion", value: op.metadata.resourceVersion },
          { op: "add", path: "/metadata/ownerReferences", value: [...owners, owner] },
        ],
        "json",
      )
      .catch((error: unknown) => {
        if (!(error instanceof ApiError && (error.statusCode === 409 || error.statusCode === 422)))
          throw error;
      });
  }

  /** Acts on the head of the queue once; returns when to look again (ms). */
  private async advance(cached: OpsRequest): Promise<number | undefined> {
    // Decisions are taken on the stored operation: the cache may not show this process's last write yet.
    const op = await this.ctx.client.find<OpsRequest>(ref(cached));
    // Ended or gone while the cache still shows it: its own event brings the queue back here.
    if (!op || op.metadata.deletionTimestamp || isTerminalOpsPhase(phaseOf(op))) return undefined;
    const handler = handlers[op.spec.type];
    const cluster = await this.clusterOf(op);
    try {
      if (phaseOf(op) === "Pending") return await this.tryStart(op, handler, cluster);
      if (!cluster) {
        await this.finish(
          op,
          "Failed",
          "ClusterDeleted",
          `cluster ${op.spec.clusterName} was deleted while the operation ran`,
        );
        return 0;
      }
      return phaseOf(op) === "Running"
        ? await this.run(op, handler, cluster)
        : await this.cancel(op, handler, cluster);
    } catch (error) {
      // The cluster's definitions are gone or changed so that it no longer resolves.
      if (!(error instanceof DefinitionError)) throw error;
      await this.finish(op, "Failed", error.reason, error.message);
      return 0;
    }
  }

  /** The cluster the operation acts on; a cache miss is confirmed on the apiserver. */
  private async clusterOf(op: OpsRequest): Promise<Cluster | undefined> {
    const key = `${op.metadata.namespace}/${op.spec.clusterName}`;
    const cluster =
      this.clusters.get(key) ??
      (await this.ctx.client.find<Cluster>({
        apiVersion: API_VERSION,
        kind: "Cluster",
        namespace: op.metadata.namespace,
        name: op.spec.clusterName,
      }));
    if (!cluster || cluster.metadata.deletionTimestamp) return undefined;
    // A new cluster of the same name is not the one a started operation was for.
    const uid = op.status?.clusterUID;
    return uid && uid !== cluster.metadata.uid ? undefined : cluster;
  }

  private view(cluster: Cluster): ClusterView {
    const resolved = resolveCluster(this.catalog, cluster);
    const namespace = cluster.metadata.namespace!;
    const full = (component: string) => names.component(cluster.metadata.name!, component);
    return {
      cluster,
      resolved,
      component: (c) => this.components.get(`${namespace}/${full(c)}`),
      instanceSet: (c) => this.sets.get(`${namespace}/${names.instanceSet(full(c))}`),
      pods: (c) =>
        this.pods.list(namespace).filter((p) => p.metadata?.labels?.[labels.component] === full(c)),
      claims: (c) =>
        this.claims.list(namespace).filter((p) => p.metadata?.labels?.[labels.component] === full(c)),
    };
  }

  private async tryStart(
    op: OpsRequest,
    handler: OpsHandler,
    cluster: Cluster | undefined,
  ): Promise<number | undefined> {
    if (op.spec.cancel) {
      await this.finish(
        op,
        "Cancelled",
        "CancelledWhilePending",
        "cancelled before it started; nothing was changed",
      );
      return 0;
    }
    if (!cluster) {
      await this.finish(op, "Failed", "ClusterNotFound", `cluster ${op.spec.clusterName} not found`);
      return 0;
    }
    const view = this.view(cluster);
    const errors = validateOpsRequest(this.catalog, op, cluster, undefined, {
      component: view.component,
      storageClasses: this.storageClasses.list(),
    });
    if (errors.length) {
      await this.finish(op, "Failed", "InvalidRequest", errors.join("; "));
      return 0;
    }
    const unmet = handler.precondition(op, view);
    if (unmet) return this.waitForPrecondition(op, unmet);
    const plan = handler.plan(op, view);
    const now = rfc3339();
    let started = false;
    await this.writeStatus(op, "Pending", (status) => {
      started = true;
      Object.assign(status, {
        phase: "Running",
        reason: "Started",
        message: `started: ${plan.steps.map((s) => s.name).join("; ")}`,
        clusterUID: cluster.metadata.uid,
        startTimestamp: now,
        lastProgressTime: now,
        steps: plan.steps,
        progress: progressText([], plan.steps),
        ...(plan.lastConfiguration ? { lastConfiguration: plan.lastConfiguration } : {}),
        conditions: setCondition(
          setCondition(status.conditions, {
            type: "PreconditionMet",
            status: true,
            reason: "PreconditionMet",
            message: `cluster ${cluster.metadata.name} is in a state the ${op.spec.type} can start from`,
          }),
          {
            type: "Started",
            status: true,
            reason: "Started",
            message: `${op.spec.type} of cluster ${cluster.metadata.name} started`,
          },
        ),
      });
    });
    if (started) {
      await this.ctx.recorder.record(
        op,
        "Normal",
        "Started",
        `${op.spec.type} of cluster ${cluster.metadata.name}: ${plan.steps.map((s) => s.name).join("; ")}`,
      );
    }
    return 0;
  }

  /** An unmet precondition fails the operation, or with preConditionDeadlineSeconds holds it Pending that long. */
  private async waitForPrecondition(op: OpsRequest, unmet: string): Promise<number | undefined> {
    const condition = op.status?.conditions?.find((c) => c.type === "PreconditionMet");
    const since = condition?.status === "False" ? Date.parse(condition.lastTransitionTime) : Date.now();
    const deadline = since + (op.spec.preConditionDeadlineSeconds ?? 0) * 1000;
    if (Date.now() >= deadline) {
      await this.finish(op, "Failed", "PreconditionFailed", unmet);
      return 0;
    }
    await this.writeStatus(op, "Pending", (status) => {
      Object.assign(status, {
        phase: "Pending",
        reason: "PreconditionNotMet",
        message: `waiting until it can start: ${unmet}`,
        conditions: setCondition(status.conditions, {
          type: "PreconditionMet",
          status: false,
          reason: "PreconditionNotMet",
          message: unmet,
        }),
      });
    });
    await this.ctx.recorder.record(
      op,
      "Normal",
      "PreconditionNotMet",
      `waiting until it can start: ${unmet}`,
    );
    return Math.min(POLL_MS, deadline - Date.now());
  }

  private async markQueued(op: OpsRequest, head: OpsRequest): Promise<void> {
    const message = `queued behind OpsRequest ${head.metadata.name} (${phaseOf(head)}): operations on cluster ${op.spec.clusterName} run one at a time`;
    if (op.status?.message === message) return;
    await this.writeStatus(op, "Pending", (status) => {
      Object.assign(status, {
        phase: "Pending",
        reason: "Queued",
        message,
        conditions: setCondition(status.conditions, {
          type: "Started",
          status: false,
          reason: "Queued",
          message,
        }),
      });
    });
    await this.ctx.recorder.record(op, "Normal", "Queued", message);
  }

  private async run(op: OpsRequest, handler: OpsHandler, cluster: Cluster): Promise<number | undefined> {
    if (op.spec.cancel) {
      if (handler.cancellable) {
        await this.writeStatus(op, "Running", (status) => {
          Object.assign(status, {
            phase: "Cancelling",
            reason: "Cancelling",
            message: "cancelled: putting back what it changed",
            lastProgressTime: rfc3339(),
          });
        });
        await this.ctx.recorder.record(op, "Normal", "Cancelling", "cancelled: putting back what it changed");
        return 0;
      }
      await this.ctx.recorder.record(
        op,
        "Warning",
        "CancelIgnored",
        `a Running ${op.spec.type} cannot be cancelled; it goes on`,
      );
    }
    if (await this.outOfTime(op)) return 0;
    const steps = op.status?.steps ?? [];
    const index = steps.findIndex((s) => s.phase !== "Succeed");
    if (index < 0) {
      await this.finish(op, "Succeed", "Succeeded", `${op.spec.type} of cluster ${op.spec.clusterName} done`);
      return 0;
    }
    const step = { ...steps[index]! };
    const save = async (fields: Partial<OpsStep>) => {
      Object.assign(step, fields);
      await this.writeStatus(op, "Running", (status) => {
        Object.assign(status.steps![index]!, fields);
      });
    };
    const outcome = await this.execute(() =>
      handler.execute(step, { op, view: this.view(cluster), ctx: this.ctx, save }),
    );
    return this.record(op, outcome, { index, step });
  }

  private async cancel(op: OpsRequest, handler: OpsHandler, cluster: Cluster): Promise<number | undefined> {
    if (await this.outOfTime(op)) return 0;
    const outcome = await this.execute(() =>
      handler.revert!({ op, view: this.view(cluster), ctx: this.ctx, save: async () => undefined }),
    );
    return this.record(op, outcome);
  }

  /** Runs a handler call; the cluster refusing the operation's change is a failure of the operation. */
  private async execute(call: () => Promise<StepOutcome>): Promise<StepOutcome> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ClusterWriteRefused)) throw error;
      return { state: "failed", reason: "ClusterRefused", message: errorMessage(error), instances: [] };
    }
  }

  /** Aborts an operation past its timeoutSeconds; true when it did. */
  private async outOfTime(op: OpsRequest): Promise<boolean> {
    const at = timeoutAt(op);
    if (at === undefined || Date.now() < at) return false;
    const left = waitingFor(op.status?.instances ?? []);
    await this.finish(
      op,
      "Aborted",
      "TimedOut",
      `not done within spec.timeoutSeconds (${op.spec.timeoutSeconds}s); what it changed stays${left ? `; not done: ${left}` : ""}`,
    );
    return true;
  }

  /**
   * Persists one look at the cluster: the step's phase, every instance's
   * progress, the progress time, and the operation's end when the outcome
   * (or a lack of progress past progressDeadlineSeconds) says so.
   */
  private async record(
    op: OpsRequest,
    outcome: StepOutcome,
    current?: { index: number; step: OpsStep },
  ): Promise<number | undefined> {
    const now = rfc3339();
    const components = new Set(outcome.instances.map((i) => i.component));
    if (current?.step.component) components.add(current.step.component);
    const previous = op.status?.instances ?? [];
    const kept = previous.filter((i) => !components.has(i.component));
    const merged = mergeInstances(
      previous.filter((i) => components.has(i.component)),
      outcome.instances,
      now,
    );
    const instances: InstanceProgress[] = [...kept, ...merged.instances];
    const stepPhase =
      outcome.state === "done" ? "Succeed" : outcome.state === "failed" ? "Failed" : "Running";
    const step =
      current &&
      ({
        ...current.step,
        phase: stepPhase,
        message: outcome.message,
        startTime: current.step.startTime ?? now,
        ...(stepPhase === "Running" ? {} : { completionTime: now }),
      } satisfies OpsStep);
    const steps = (op.status?.steps ?? []).map((s, i) => (step && i === current.index ? step : s));
    const progressed =
      merged.changed ||
      (current !== undefined && current.step.phase !== stepPhase) ||
      outcome.progressing === true;
    const phase = phaseOf(op);
    await this.writeStatus(op, phase, (status) => {
      Object.assign(status, {
        message: outcome.message,
        steps,
        instances,
        progress: progressText(instances, steps),
        ...(progressed ? { lastProgressTime: now } : {}),
      });
    });
    if (current && current.step.phase === "Pending")
      await this.ctx.recorder.record(op, "Normal", "StepStarted", `${current.step.name}: ${outcome.message}`);
    // Every change of an instance's phase is an Event, but the first "not yet" of each.
    for (const instance of merged.instances.filter((i) => i.since === now && i.phase !== "Pending")) {
      await this.ctx.recorder.record(
        op,
        instance.phase === "Failed" ? "Warning" : "Normal",
        `Instance${instance.phase}`,
        `${instance.action} ${instance.name}: ${instance.phase}${instance.message ? ` (${instance.message})` : ""}`,
      );
    }
    if (outcome.state === "failed") {
      await this.finish(op, "Failed", outcome.reason ?? "StepFailed", outcome.message);
      return 0;
    }
    if (outcome.state === "done") {
      if (phase === "Cancelling") {
        await this.finish(op, "Cancelled", "CancelledWhileRunning", `cancelled; ${outcome.message}`);
      } else {
        await this.ctx.recorder.record(
          op,
          "Normal",
          "StepSucceeded",
          `${current!.step.name}: ${outcome.message}`,
        );
      }
      return 0;
    }
    const stalled = stalledAt({
      ...op,
      status: { ...op.status, ...(progressed ? { lastProgressTime: now } : {}) },
    });
    if (stalled !== undefined && Date.now() >= stalled) {
      await this.finish(
        op,
        "Failed",
        "ProgressDeadlineExceeded",
        `no progress for ${op.spec.progressDeadlineSeconds}s (spec.progressDeadlineSeconds): ${outcome.message}${instances.length ? `; waiting for ${waitingFor(instances)}` : ""}`,
      );
      return 0;
    }
    return Math.min(
      POLL_MS,
      ...[stalled, timeoutAt(op)]
        .filter((t): t is number => t !== undefined)
        .map((t) => Math.max(0, t - Date.now())),
    );
  }

  /** Ends the operation (once: a terminal phase is never left) with an Event. */
  private async finish(op: OpsRequest, phase: OpsPhase, reason: string, message: string): Promise<void> {
    let ended = false;
    await this.writeStatus(op, undefined, (status) => {
      ended = true;
      Object.assign(status, {
        phase,
        reason,
        message,
        completionTimestamp: rfc3339(),
        conditions: setCondition(status.conditions, {
          type: "Completed",
          status: phase === "Succeed",
          reason,
          message,
        }),
      });
    });
    if (!ended) return;
    const type = phase === "Succeed" || phase === "Cancelled" ? "Normal" : "Warning";
    await this.ctx.recorder.record(op, type, phase, message);
    this.ctx.logger.info({ opsRequest: objectKey(op), phase, reason }, "operation ended");
  }

  /**
   * Changes the stored status if the operation is still in `expected` (any
   * phase but a terminal one when undefined): two writers never both move an
   * operation on from the same phase.
   */
  private async writeStatus(
    op: OpsRequest,
    expected: OpsPhase | undefined,
    change: (status: NonNullable<OpsRequest["status"]>) => void,
  ): Promise<void> {
    await updateStatus<OpsRequest>(this.ctx.client, ref(op), (stored) => {
      const phase = phaseOf(stored);
      if (expected ? phase !== expected : isTerminalOpsPhase(phase)) return;
      const status = structuredClone(stored.status ?? {});
      change(status);
      stored.status = status;
    });
  }
}
