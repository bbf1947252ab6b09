import type { V1Pod } from "@kubernetes/client-node";
import pLimit from "p-limit";
import {
  API_VERSION,
  annotations,
  labels,
  type Component,
  type ComponentDefinition,
  type HAStatus,
  type InstanceSet,
} from "@tessera/api";
import {
  Controller,
  errorMessage,
  objectKey,
  updateStatus,
  type Informer,
  type ReconcileResult,
} from "@tessera/kube";
import {
  componentEnv,
  failoverEnv,
  parseRoleProbeOutput,
  type ActionEnv,
  type ComponentEnv,
} from "../actions/contract/index.js";
import { podIsReady } from "../actions/runner.js";
import { setCondition } from "../conditions.js";
import type { OperatorContext } from "../context.js";
import type { DefinitionCatalog } from "../definitions.js";
import { ordinalOf } from "../instanceset/plan.js";
import { names } from "../naming.js";
import { decide, type ProbeReport } from "./decide.js";

/** Role probes in flight across all components; keeps a large fleet from flooding the apiserver. */
const probeLimit = pLimit(32);
/** Minimum gap between two promote/demote attempts on the same pod. */
const ACTION_RETRY_MS = 5_000;
const SWITCHOVER_GRACE_MS = 90_000;

interface ComponentState {
  primaryFailures: number;
  podFailures: Map<string, number>;
  lastAttempt: Map<string, number>;
  /** Pod UID and container restart count seen in the previous round, to notice restarts. */
  incarnations: Map<string, string>;
  /** Last position each instance reported; forgotten when its pod is recreated. */
  positions: Map<string, number>;
}

function incarnation(pod: V1Pod): string {
  const restarts = (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0);
  return `${pod.metadata?.uid}/${restarts}`;
}

/**
 * The HA loop: probes every instance's role (default every second),
 * keeps the `tessera.dev/role` labels that services select on in line with
 * reality, and for `operator` HA mode fails over: detect primary loss →
 * fence it (no writable label) → promote the most advanced healthy replica
 * → demote any stale writable instance. Each change of primary raises the
 * epoch recorded in the Component status.
 */
export class HaController {
  readonly controller: Controller;
  private readonly components: Informer<Component>;
  private readonly sets: Informer<InstanceSet>;
  private readonly pods: Informer<V1Pod>;
  private readonly state = new Map<string, ComponentState>();

  constructor(
    private readonly ctx: OperatorContext,
    private readonly catalog: DefinitionCatalog,
  ) {
    this.components = ctx.informers.get<Component>(API_VERSION, "Component");
    this.sets = ctx.informers.get<InstanceSet>(API_VERSION, "InstanceSet");
    this.pods = ctx.informers.get<V1Pod>("v1", "Pod", { labelSelector: `${labels.managedBy}=tessera` });
    this.controller = new Controller({
      name: "ha",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 8,
      logger: ctx.logger,
    })
      .watches(this.components)
      // A switchover's progress (recorded on the InstanceSet) calls for a probe round now, not at the next tick.
      .owns(this.sets, "Component");
    // So does an instance turning ready without a role label (services and readiness wait for it),
    // unless the recorded primary is not ready: then rounds keep their period, so that failover's
    // count of failed rounds means time.
    this.pods.addHandlers({
      update: (before, after) => {
        const component = after.metadata?.labels?.[labels.component];
        if (!component || podIsReady(before) || !podIsReady(after)) return;
        if (after.metadata?.labels?.[labels.role]) return;
        const namespace = after.metadata?.namespace;
        const key = objectKey({ metadata: { name: component, namespace } });
        const primary = this.components.get(key)?.status?.ha?.primary;
        const primaryPod = primary && this.pods.get(objectKey({ metadata: { name: primary, namespace } }));
        if (!primary || (primaryPod && podIsReady(primaryPod))) this.controller.enqueue(key);
      },
    });
  }

  private stateOf(key: string): ComponentState {
    let state = this.state.get(key);
    if (!state) {
      state = {
        primaryFailures: 0,
        podFailures: new Map(),
        lastAttempt: new Map(),
        incarnations: new Map(),
        positions: new Map(),
      };
      this.state.set(key, state);
    }
    return state;
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const component = this.components.get(key);
    if (!component || component.metadata.deletionTimestamp) {
      this.state.delete(key);
      return;
    }
    let compDef: ComponentDefinition;
    try {
      compDef = this.catalog.componentDefinition(component.spec.compDef);
    } catch {
      return;
    }
    const probe = compDef.spec.lifecycleActions?.roleProbe;
    if (!probe || (compDef.spec.haMode === "none" && !compDef.spec.roles?.length)) return;
    const periodMs = (probe.periodSeconds ?? 1) * 1000;
    if (component.spec.stop) return { requeueAfterMs: periodMs * 5 };
    const set = this.sets.get(key);
    const pods = this.pods
      .list(component.metadata.namespace)
      .filter(
        (p) =>
          p.metadata?.labels?.[labels.component] === component.metadata.name &&
          !p.metadata?.deletionTimestamp,
      );
    const env = componentEnv(
      component.metadata.namespace!,
      names.headlessService(names.instanceSet(component.metadata.name!)),
      set,
    );
    const reports = await Promise.all(
      pods.map((pod) => probeLimit(() => this.probe(component, compDef, pod, env.base))),
    );
    await this.act(component, compDef, set, pods, reports, env);
    return { requeueAfterMs: periodMs };
  }

  private async probe(
    component: Component,
    compDef: ComponentDefinition,
    pod: V1Pod,
    env: ActionEnv,
  ): Promise<ProbeReport> {
    const name = pod.metadata!.name!;
    const base = { pod: name, ordinal: ordinalOf(name), ready: podIsReady(pod) };
    if (pod.status?.phase !== "Running")
      return { ...base, ok: false, error: `pod is ${pod.status?.phase ?? "pending"}` };
    try {
      const [outcome] = await this.ctx.actions.run("roleProbe", compDef.spec.lifecycleActions!.roleProbe!, {
        namespace: component.metadata.namespace!,
        pods: [pod],
        pod: name,
        env,
      });
      const parsed = parseRoleProbeOutput(outcome!.result.stdout, compDef.spec.roles ?? []);
      return { ...base, ...parsed };
    } catch (error) {
      return { ...base, ok: false, error: errorMessage(error) };
    }
  }

  private async act(
    component: Component,
    compDef: ComponentDefinition,
    set: InstanceSet | undefined,
    pods: V1Pod[],
    reports: ProbeReport[],
    env: ComponentEnv,
  ): Promise<void> {
    const key = objectKey(component);
    const state = this.stateOf(key);
    const threshold = compDef.spec.lifecycleActions?.roleProbe?.failureThreshold ?? 3;
    for (const report of reports) {
      state.podFailures.set(report.pod, report.ok ? 0 : (state.podFailures.get(report.pod) ?? 0) + 1);
      const pod = pods.find((p) => p.metadata?.name === report.pod)!;
      const seen = state.incarnations.get(report.pod);
      report.restarted = seen !== undefined && seen !== incarnation(pod);
      if (seen?.split("/")[0] !== pod.metadata?.uid) state.positions.delete(report.pod);
      state.incarnations.set(report.pod, incarnation(pod));
      if (report.ok && report.position !== undefined) state.positions.set(report.pod, report.position);
    }
    for (const name of [...state.positions.keys()]) {
      if (!pods.some((p) => p.metadata?.name === name)) state.positions.delete(name);
    }
    const marker = set?.status?.switchover;
    const decision = decide({
      mode: compDef.spec.haMode,
      roles: compDef.spec.roles ?? [],
      ha: component.status?.ha ?? { epoch: 0 },
      reports,
      primaryFailures: state.primaryFailures,
      podFailures: state.podFailures,
      failureThreshold: threshold,
      switchoverInProgress: Boolean(
        marker && Date.now() - Date.parse(marker.startedAt) < SWITCHOVER_GRACE_MS,
      ),
      switchoverCandidate: marker?.candidate,
      currentLabels: new Map(pods.map((p) => [p.metadata!.name!, p.metadata?.labels?.[labels.role]])),
      knownPositions: state.positions,
    });
    state.primaryFailures = decision.primaryFailures;
    if (decision.ha) await this.writeHa(component, decision.ha, decision.blocked);
    for (const event of decision.events) {
      await this.ctx.recorder.record(component, event.type, event.reason, event.message);
    }
    await this.applyLabels(
      pods,
      decision.labels,
      decision.ha?.primary ?? component.status?.ha?.primary,
      decision.ha?.epoch ?? component.status?.ha?.epoch,
      compDef.spec.roles?.find((r) => r.writable)?.name,
    );
    const ha = decision.ha ?? component.status?.ha;
    const roleEnv = failoverEnv(env, {
      epoch: ha?.epoch,
      primary: ha?.primary,
      oldPrimary: ha?.lastFailover?.from,
    });
    if (decision.fence) {
      await this.runRoleAction(
        component,
        compDef,
        pods,
        "demote",
        decision.fence,
        roleEnv,
        async () => undefined,
      );
    }
    if (decision.promote && this.mayAttempt(state, decision.promote)) {
      await this.runRoleAction(component, compDef, pods, "promote", decision.promote, roleEnv, async () => {
        await this.writeHa(component, { ...ha!, promotePending: false });
      });
    }
    for (const pod of decision.demote) {
      if (!this.mayAttempt(state, pod)) continue;
      await this.runRoleAction(component, compDef, pods, "demote", pod, roleEnv, async () => undefined);
    }
  }

  private mayAttempt(state: ComponentState, pod: string): boolean {
    const last = state.lastAttempt.get(pod) ?? 0;
    if (Date.now() - last < ACTION_RETRY_MS) return false;
    state.lastAttempt.set(pod, Date.now());
    return true;
  }

  private async runRoleAction(
    component: Component,
    compDef: ComponentDefinition,
    pods: V1Pod[],
    name: "promote" | "demote",
    pod: string,
    env: ActionEnv,
    onSuccess: () => Promise<void>,
  ): Promise<void> {
    const action = compDef.spec.lifecycleActions?.[name];
    if (!action) {
      await this.ctx.recorder.record(
        component,
        "Warning",
        `${name}Missing`,
        `${pod} needs ${name} but the definition has no ${name} action`,
      );
      return;
    }
    try {
      await this.ctx.actions.run(name, action, { namespace: component.metadata.namespace!, pods, pod, env });
      await this.ctx.recorder.record(
        component,
        "Normal",
        name === "promote" ? "Promoted" : "Demoted",
        `${name} of ${pod} succeeded`,
      );
      await onSuccess();
    } catch (error) {
      await this.ctx.recorder.record(component, "Warning", `${name}Failed`, errorMessage(error));
    }
  }

  private async writeHa(component: Component, ha: HAStatus, blocked?: string): Promise<void> {
    await updateStatus<Component>(
      this.ctx.client,
      {
        apiVersion: API_VERSION,
        kind: "Component",
        namespace: component.metadata.namespace,
        name: component.metadata.name!,
      },
      (c) => {
        c.status = {
          ...c.status,
          ha,
          conditions: setCondition(c.status?.conditions, {
            type: "FailoverPossible",
            status: !blocked,
            reason: blocked ? "NoHealthyReplica" : "Ok",
            message: blocked ?? "a healthy replica can take over",
          }),
        };
      },
    );
    component.status = { ...component.status, ha };
  }

  /**
   * Role labels (what services select on) and the epoch annotation of the
   * primary. Labels that take a role away are written before the writable
   * label is given, so no observer ever sees two writable instances.
   */
  private async applyLabels(
    pods: V1Pod[],
    wanted: Map<string, string | undefined>,
    primary: string | undefined,
    epoch: number | undefined,
    writable: string | undefined,
  ): Promise<void> {
    const changes = pods.flatMap((pod) => {
      const name = pod.metadata!.name!;
      if (!wanted.has(name)) return [];
      const role = wanted.get(name);
      const wantEpoch = name === primary && epoch !== undefined ? String(epoch) : undefined;
      const unchanged =
        pod.metadata?.labels?.[labels.role] === role &&
        pod.metadata?.annotations?.[annotations.roleEpoch] === wantEpoch;
      return unchanged ? [] : [{ pod, role, wantEpoch }];
    });
    const patch = async ({ pod, role, wantEpoch }: (typeof changes)[number]) => {
      try {
        await this.ctx.client.patch(
          { apiVersion: "v1", kind: "Pod", namespace: pod.metadata!.namespace, name: pod.metadata!.name! },
          {
            metadata: {
              labels: { [labels.role]: role ?? null },
              annotations: { [annotations.roleEpoch]: wantEpoch ?? null },
            },
          },
          "merge",
        );
      } catch (error) {
        this.ctx.logger.debug(
          { pod: pod.metadata?.name, err: errorMessage(error) },
          "role label update failed",
        );
      }
    };
    await Promise.all(changes.filter((c) => c.role !== writable || writable === undefined).map(patch));
    await Promise.all(changes.filter((c) => c.role === writable && writable !== undefined).map(patch));
  }
}
