import type { V1Pod } from "@kubernetes/client-node";
import { get } from "node:http";
import pLimit from "p-limit";
import { isListening } from "@tessera/base";
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
import { AGENT_PORT_NAME, parseAgentReport } from "../component/agent.js";
import { setCondition } from "../conditions.js";
import type { OperatorContext } from "../context.js";
import type { DefinitionCatalog } from "../definitions.js";
import { ordinalOf } from "../instanceset/plan.js";
import { names } from "../naming.js";
import { recordAnswer, silenceAllowance } from "./answer-times.js";
import { decide, type Decision, type ProbeReport } from "./decide.js";
import { followedEpoch } from "./follows-epoch.js";

/** Role probes in flight across all components; keeps a large fleet from flooding the apiserver. */
const probeLimit = pLimit(32);
/** Minimum gap between two promote/demote attempts on the same pod. */
const ACTION_RETRY_MS = 5_000;
const SWITCHOVER_GRACE_MS = 90_000;
/**
 * How long a recorded primary still starting is waited for before its silence counts: after a
 * start, every pod is created at once and a loaded node launches them one after the other (a full
 * CI run saw the primary's come more than 10 s after the others').
 */
const PRIMARY_START_GRACE_MS = 60_000;
/** How long after its container started a primary not ready yet counts as starting. */
const JUST_STARTED_MS = 10_000;
/** The follows-epoch of a detached replica: it follows no one until `follow` runs on it. */
const DETACHED = "detached";
/** How soon a round follows one that found a ready instance whose role is not known yet. */
const ROLE_AWAITED_MS = 200;
/** How long a connection to an instance may take before it counts as unreachable. */
const REACHABILITY_TIMEOUT_MS = 2_000;

interface ComponentState {
  primaryFailures: number;
  podFailures: Map<string, number>;
  /** When each action was last tried on each pod, by `action/pod`. */
  lastAttempt: Map<string, number>;
  /** Pod UID and run of the database container seen in the previous round, to notice exits. */
  incarnations: Map<string, string>;
  /** Last position each instance reported; forgotten when its pod is recreated. */
  positions: Map<string, number>;
  /** Since when the recorded primary has been seen starting (see primaryStarting). */
  primaryStartingSince?: number;
  /** When a failed round of the primary was last counted. */
  failureCountedAt: number;
  /**
   * Instances, by pod name, whose agent report may predate a role action on them: they are probed
   * through the action path until their report loop has run a whole probe after the action ended,
   * however slowly it turns on a loaded node. `sequence` is the first report read after the end
   * (the probe running then may have begun before it).
   */
  actedOn: Map<string, { ended: boolean; sequence?: number }>;
  /** Instances whose restart was seen and not yet dealt with (the primary's, until failover replaced it). */
  restarted: Set<string>;
  /**
   * A probe still running past its round, by pod UID: the next round waits on it instead of piling
   * up execs. When it began, and whether a round already gave up on it (the next waits a whole
   * timeout on it, counted as one round).
   */
  inflight: Map<string, { report: Promise<ProbeReport>; startedAt: number; silent: boolean }>;
  /** The agent's last report sequence per pod UID, and when it last moved (this process's clock). */
  agentSequences: Map<string, { sequence: number; changedAt: number }>;
  /** How long each instance's recent probes took to answer, by pod UID (see silenceAllowance). */
  answerTimes: Map<string, number[]>;
}

function probePeriodMs(compDef: ComponentDefinition): number {
  return (compDef.spec.lifecycleActions?.roleProbe?.periodSeconds ?? 1) * 1000;
}

function probeTimeoutMs(compDef: ComponentDefinition): number {
  return (compDef.spec.lifecycleActions?.roleProbe?.timeoutSeconds ?? 2) * 1000;
}

/** The port of the pod's agent, if it has one. */
function agentPort(pod: V1Pod): number | undefined {
  for (const container of pod.spec?.containers ?? []) {
    const port = container.ports?.find((p) => p.name === AGENT_PORT_NAME);
    if (port) return port.containerPort;
  }
  return undefined;
}

function httpGet(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get(url, { timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (response.statusCode === 200) resolve(body);
        else reject(new Error(`HTTP ${response.statusCode}`));
      });
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
  });
}

/**
 * The failed rounds a probe silent for its whole timeout stands for: every period it spanned, but
 * one short of the failure threshold, so that failover always waits for a second, later silence. A
 * single one can be the operator's own stall on a loaded node (its timers fire late, all at once).
 */
function spannedRounds(compDef: ComponentDefinition, timeoutMs: number): number {
  const threshold = compDef.spec.lifecycleActions?.roleProbe?.failureThreshold ?? 3;
  return Math.max(1, Math.min(Math.floor(timeoutMs / probePeriodMs(compDef)), threshold - 1));
}

/**
 * Whether a report of this sequence can be taken for the instance: none of its role actions ended
 * after the probe behind it began. The report loop numbers its turns, so the second turn to finish
 * after the first report read since the action ended began after that end. A loop that started
 * again (a lower number) began after it too.
 */
function reportPostdatesActions(state: ComponentState, pod: string, sequence: number): boolean {
  const acted = state.actedOn.get(pod);
  if (!acted) return true;
  if (!acted.ended) return false;
  acted.sequence ??= sequence;
  if (sequence >= acted.sequence && sequence < acted.sequence + 2) return false;
  state.actedOn.delete(pod);
  return true;
}

/** What is kept per pod (agent sequences by UID, role actions by name) goes with the pod. */
function forgetGone(state: ComponentState, pods: V1Pod[]): void {
  const live = new Set(pods.map((p) => p.metadata?.uid));
  for (const uid of state.agentSequences.keys()) if (!live.has(uid)) state.agentSequences.delete(uid);
  for (const uid of state.answerTimes.keys()) if (!live.has(uid)) state.answerTimes.delete(uid);
  const names = new Set(pods.map((p) => p.metadata?.name));
  for (const name of state.actedOn.keys()) if (!names.has(name)) state.actedOn.delete(name);
}

/** How long ago a time read from the API was (typed as a Date, a string in fact); NaN without one. */
function ageMs(time: Date | string | undefined): number {
  return Date.now() - new Date(time ?? Number.NaN).getTime();
}

/** A pod whose containers started within the start grace and that has not been ready since. */
function justStarted(pod: V1Pod): boolean {
  if (podIsReady(pod)) return false;
  const ages = (pod.status?.containerStatuses ?? []).map((c) => ageMs(c.state?.running?.startedAt));
  return ages.some((age) => Number.isNaN(age) || age < JUST_STARTED_MS);
}

/** The pod turned ready moments ago (the instance just started). */
function justReady(pod: V1Pod): boolean {
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True");
  return ageMs(ready?.lastTransitionTime) < JUST_STARTED_MS;
}

/** The container whose role the probe reports: the database's. */
function probedContainer(compDef: ComponentDefinition, pod: V1Pod): string | undefined {
  return compDef.spec.lifecycleActions?.roleProbe?.exec?.container ?? pod.spec?.containers[0]?.name;
}

/** Why the instance cannot be asked for its role now, if it cannot. */
function whyUnaskable(compDef: ComponentDefinition, pod: V1Pod, viaAgent: boolean): string | undefined {
  if (pod.status?.phase !== "Running") return `pod is ${pod.status?.phase ?? "pending"}`;
  if (!viaAgent) return undefined;
  // A container restarting keeps its last report on the volume; the server it runs is gone with it.
  const container = probedContainer(compDef, pod);
  const status = pod.status?.containerStatuses?.find((c) => c.name === container);
  return status?.state?.running ? undefined : `container ${container} is not running`;
}

/**
 * Which run of the database container a pod is in. A container that exited and waits to be
 * restarted (at once, or after a crash back-off) counts as its next run already: its processes
 * are gone, which is all that failover needs to know, and the restart changes nothing more.
 */
function incarnation(pod: V1Pod, container: string | undefined): string {
  const status = pod.status?.containerStatuses?.find((c) => c.name === container);
  const exited = !status?.state?.running && (status?.state?.terminated ?? status?.lastState?.terminated);
  return `${pod.metadata?.uid}/${(status?.restartCount ?? 0) + (exited ? 1 : 0)}`;
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
        if (!component) return;
        const namespace = after.metadata?.namespace;
        const key = objectKey({ metadata: { name: component, namespace } });
        const owner = this.components.get(key);
        const primary = owner?.status?.ha?.primary;
        // The recorded primary's database exited, or its pod is going: failover starts at once, not
        // at the round's tick.
        if (
          after.metadata?.name === primary &&
          (after.metadata?.deletionTimestamp || this.exitedSince(owner!, before, after))
        ) {
          this.controller.enqueue(key);
          return;
        }
        if (podIsReady(before) || !podIsReady(after) || after.metadata?.labels?.[labels.role]) return;
        if (this.primaryReadyOrNone(owner)) this.controller.enqueue(key);
      },
      delete: (pod) => {
        const component = pod.metadata?.labels?.[labels.component];
        if (!component) return;
        const key = objectKey({ metadata: { name: component, namespace: pod.metadata?.namespace } });
        if (this.components.get(key)?.status?.ha?.primary === pod.metadata?.name)
          this.controller.enqueue(key);
      },
    });
  }

  /** No primary is recorded, or the recorded one is ready: rounds may then come sooner than a period. */
  private primaryReadyOrNone(component: Component | undefined): boolean {
    const primary = component?.status?.ha?.primary;
    if (!primary) return true;
    const pod = this.pods.get(
      objectKey({ metadata: { name: primary, namespace: component.metadata.namespace } }),
    );
    return Boolean(pod && podIsReady(pod));
  }

  private exitedSince(component: Component, before: V1Pod, after: V1Pod): boolean {
    let container: string | undefined;
    try {
      container = probedContainer(this.catalog.componentDefinition(component.spec.compDef), after);
    } catch {
      return false;
    }
    return incarnation(before, container) !== incarnation(after, container);
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
        inflight: new Map(),
        agentSequences: new Map(),
        answerTimes: new Map(),
        restarted: new Set(),
        failureCountedAt: 0,
        actedOn: new Map(),
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
    if (component.spec.stop) {
      // A start brings new pods on the same volumes: none of them is a restart of an instance
      // this loop knew, so nothing learnt before the stop carries over.
      this.state.delete(key);
      return { requeueAfterMs: periodMs * 5 };
    }
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
    const state = this.stateOf(key);
    forgetGone(state, pods);
    const startedAt = Date.now();
    const reports = await Promise.all(
      pods.map((pod) => this.probeWithin(state, component, compDef, pod, env.base)),
    );
    await this.act(component, compDef, set, pods, reports, env);
    // A ready instance whose role is not known yet (its server started after its agent's last
    // report) keeps its services and the component waiting: it is asked again soon, as its agent
    // reports quickly until the first answer. Not while the recorded primary fails to answer: then
    // rounds keep their period, so that failover's count of failed rounds means time.
    const roleAwaited = pods.some(
      (pod, i) => justReady(pod) && !pod.metadata?.labels?.[labels.role] && !reports[i]!.ok,
    );
    const primary = component.status?.ha?.primary;
    if (roleAwaited && (!primary || reports.some((r) => r.pod === primary && r.ok)))
      return { requeueAfterMs: ROLE_AWAITED_MS };
    // Rounds begin once a period, however long one waited on a silent instance.
    return { requeueAfterMs: Math.max(0, periodMs - (Date.now() - startedAt)) };
  }

  /**
   * A probe bounded by the probe's timeout, or less for an instance that has answered quickly for
   * a while (see silenceAllowance): one that answers late but within it (a loaded node) is taken
   * as it is; one that does not (frozen, cut off) stands for the periods of silence its
   * timeout spanned (see spannedRounds). An unanswered probe keeps running; the next rounds wait
   * on it instead of starting another, each for the timeout again and counting one round: on a
   * node loaded enough that a busy instance answers in seconds, a second silence as long as the
   * first is what tells a frozen one apart.
   */
  private async probeWithin(
    state: ComponentState,
    component: Component,
    compDef: ComponentDefinition,
    pod: V1Pod,
    env: ActionEnv,
  ): Promise<ProbeReport> {
    const unaskable = whyUnaskable(compDef, pod, Boolean(agentPort(pod)));
    if (unaskable) {
      // Said without asking the instance, so how fast says nothing of its answers; and the run that
      // starts next has given none yet.
      state.answerTimes.delete(pod.metadata!.uid!);
      const name = pod.metadata!.name!;
      return { pod: name, ordinal: ordinalOf(name), ready: podIsReady(pod), ok: false, error: unaskable };
    }
    const uid = pod.metadata!.uid!;
    let answerTimes = state.answerTimes.get(uid);
    if (!answerTimes) state.answerTimes.set(uid, (answerTimes = []));
    let probe = state.inflight.get(uid);
    if (!probe) {
      const startedAt = Date.now();
      const report = probeLimit(() => this.probe(component, compDef, pod, env, state));
      probe = { report, startedAt, silent: false };
      state.inflight.set(uid, probe);
      void report.finally(() => {
        state.inflight.delete(uid);
        recordAnswer(answerTimes, Date.now() - startedAt);
      });
    }
    const { silent } = probe;
    const timeoutMs = silenceAllowance(answerTimes, probeTimeoutMs(compDef), probePeriodMs(compDef));
    const waitMs = silent ? timeoutMs : Math.max(0, probe.startedAt + timeoutMs - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<ProbeReport>((resolve) => {
      timer = setTimeout(() => {
        probe.silent = true;
        this.ctx.logger.debug({ pod: pod.metadata!.name, ms: timeoutMs }, "probe unanswered");
        resolve({
          pod: pod.metadata!.name!,
          ordinal: ordinalOf(pod.metadata!.name!),
          ready: podIsReady(pod),
          ok: false,
          error: `no answer within ${timeoutMs} ms`,
          missedRounds: silent ? 1 : spannedRounds(compDef, timeoutMs),
        });
      }, waitMs);
    });
    try {
      return await Promise.race([probe.report, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * One instance's role. Through its agent's report when it has one (`state` given: a round), else,
   * and for a fresh answer after a detach (`state` absent), by running roleProbe as an action.
   */
  private async probe(
    component: Component,
    compDef: ComponentDefinition,
    pod: V1Pod,
    env: ActionEnv,
    state?: ComponentState,
  ): Promise<ProbeReport> {
    const name = pod.metadata!.name!;
    const base = { pod: name, ordinal: ordinalOf(name), ready: podIsReady(pod) };
    const action = compDef.spec.lifecycleActions!.roleProbe!;
    // Reading the agent's report crosses the pod network: it proves reachability as well.
    const agentAt = agentPort(pod);
    const unaskable = whyUnaskable(compDef, pod, Boolean(state && agentAt));
    if (unaskable) return { ...base, ok: false, error: unaskable };
    if (state && agentAt) {
      const { sequence, ...report } = await this.agentReport(pod, agentAt, state, compDef);
      if (sequence === undefined || reportPostdatesActions(state, name, sequence))
        return { ...base, ...report };
      // A report begun before a role action ended may show the role from before it. Asking the
      // instance instead would be one more process on a node the action may have found loaded, and
      // its silence would count: the report loop's next turns say it soon enough, and a loop that
      // stops turning is caught as stale.
      return { ...base, ok: false, error: "no report taken since its last role action yet", missedRounds: 0 };
    }
    // An instance with an agent proves its reachability through the agent in other rounds.
    const reachable = agentAt ? Promise.resolve(undefined) : this.reachable(pod, action.exec?.container);
    try {
      const [outcome] = await this.ctx.actions.run("roleProbe", action, {
        namespace: component.metadata.namespace!,
        pods: [pod],
        pod: name,
        env,
      });
      const parsed = parseRoleProbeOutput(outcome!.result.stdout, compDef.spec.roles ?? []);
      const unreachable = await reachable;
      return unreachable ? { ...base, ok: false, error: unreachable } : { ...base, ...parsed };
    } catch (error) {
      return { ...base, ok: false, error: errorMessage(error) };
    }
  }

  /**
   * The recorded primary is still starting (a start after a stop, a pod being recreated): its pod
   * missing or not launched yet, or its container started moments ago and not ready since. It is
   * expected back, so for a grace period its silence is not counted. A primary that was running
   * and stopped answering gets no grace, and a restarted one fails over at once all the same.
   */
  private primaryStarting(state: ComponentState, component: Component, pods: V1Pod[]): boolean {
    const primary = component.status?.ha?.primary;
    const pod = pods.find((p) => p.metadata?.name === primary);
    const phase = pod?.status?.phase;
    const starting =
      !pod || phase === undefined || phase === "Pending" || (phase === "Running" && justStarted(pod));
    if (!primary || !starting) {
      state.primaryStartingSince = undefined;
      return false;
    }
    state.primaryStartingSince ??= Date.now();
    return Date.now() - state.primaryStartingSince < PRIMARY_START_GRACE_MS;
  }

  /**
   * Reads what the pod's agent last reported; a report that stopped advancing counts as failed.
   * The report's sequence comes with a fresh report only.
   */
  private async agentReport(
    pod: V1Pod,
    port: number,
    state: ComponentState,
    compDef: ComponentDefinition,
  ): Promise<Omit<ProbeReport, "pod" | "ordinal" | "ready"> & { sequence?: number }> {
    const uid = pod.metadata!.uid!;
    // One turn of the report loop takes a period and the probe's run, which a loaded node slows
    // down (a run is not cut short there: a slow answer is no failure; a full CI run here saw a
    // loop take 11 s for three turns at a load of 35 on 2 cores). Its server answering proves the
    // container is not frozen (it runs there). Silence for ten turns, each allowed a period and
    // the probe's timeout, is left: a probe or loop that hangs.
    const staleAfterMs = 10 * (probePeriodMs(compDef) + probeTimeoutMs(compDef));
    let text: string;
    try {
      // Waiting on a silent server is the rounds' business (a timeout each); this bound only keeps
      // a request from outliving any use.
      text = await httpGet(`http://${pod.status!.podIP}:${port}/report`, staleAfterMs);
    } catch (error) {
      return { ok: false, error: `agent: ${errorMessage(error)}` };
    }
    const report = parseAgentReport(text);
    if (!report) return { ok: false, error: "the agent has not reported yet" };
    const seen = state.agentSequences.get(uid);
    const changedAt = seen?.sequence === report.sequence ? seen.changedAt : Date.now();
    state.agentSequences.set(uid, { sequence: report.sequence, changedAt });
    const silentMs = Date.now() - changedAt;
    const { sequence } = report;
    if (silentMs > staleAfterMs)
      return {
        ok: false,
        error: `the agent has not reported for ${Math.round(silentMs / 1000)} s`,
      };
    if (report.code !== 0) return { sequence, ok: false, error: `roleProbe exited with code ${report.code}` };
    return { sequence, ...parseRoleProbeOutput(report.output, compDef.spec.roles ?? []) };
  }

  /**
   * A role probe through `pods/exec` runs via the node's kubelet, which still reaches an instance
   * cut off from the network: a primary that answers it but that no client can reach is lost all
   * the same. So the operator also connects to the instance's first declared port over the pod
   * network. Resolves to why it is unreachable, or undefined.
   */
  private async reachable(pod: V1Pod, containerName: string | undefined): Promise<string | undefined> {
    const containers = pod.spec?.containers ?? [];
    const container = containers.find((c) => c.name === containerName) ?? containers[0];
    const port = container?.ports?.[0]?.containerPort;
    const ip = pod.status?.podIP;
    if (!port || !ip) return undefined;
    return (await isListening(ip, port, REACHABILITY_TIMEOUT_MS))
      ? undefined
      : `unreachable at ${ip}:${port} over the pod network`;
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
    const actions = compDef.spec.lifecycleActions;
    for (const report of reports) {
      const failures = (state.podFailures.get(report.pod) ?? 0) + (report.missedRounds ?? 1);
      state.podFailures.set(report.pod, report.ok ? 0 : failures);
      const pod = pods.find((p) => p.metadata?.name === report.pod)!;
      const seen = state.incarnations.get(report.pod);
      const run = incarnation(pod, probedContainer(compDef, pod));
      // A restart of the recorded primary stays noticed until failover replaced it: a failed fence
      // must not let it keep the role as if nothing had happened.
      if (seen !== undefined && seen !== run) state.restarted.add(report.pod);
      if (component.status?.ha?.primary !== report.pod || component.status.ha.fencing) {
        report.restarted = state.restarted.delete(report.pod) && seen !== run;
      } else {
        report.restarted = state.restarted.has(report.pod);
      }
      if (seen?.split("/")[0] !== pod.metadata?.uid) state.positions.delete(report.pod);
      state.incarnations.set(report.pod, run);
      if (report.ok && report.position !== undefined) state.positions.set(report.pod, report.position);
    }
    for (const name of [...state.positions.keys()]) {
      if (!pods.some((p) => p.metadata?.name === name)) state.positions.delete(name);
    }
    const marker = set?.status?.switchover;
    const primary = component.status?.ha?.primary;
    const round = {
      mode: compDef.spec.haMode,
      roles: compDef.spec.roles ?? [],
      podFailures: state.podFailures,
      failureThreshold: actions?.roleProbe?.failureThreshold ?? 3,
      switchoverInProgress: Boolean(
        marker && Date.now() - Date.parse(marker.startedAt) < SWITCHOVER_GRACE_MS,
      ),
      switchoverCandidate: marker?.candidate,
      currentLabels: new Map(pods.map((p) => [p.metadata!.name!, p.metadata?.labels?.[labels.role]])),
      knownPositions: state.positions,
      primaryDeleted: Boolean(
        primary && state.incarnations.has(primary) && !pods.some((p) => p.metadata?.name === primary),
      ),
      canDetach: Boolean(actions?.detach),
      canFollow: Boolean(actions?.follow),
      followedEpochs: new Map(pods.map((p) => [p.metadata!.name!, followedEpoch(p)])),
    };
    let decision = decide({
      ...round,
      ha: component.status?.ha ?? { epoch: 0 },
      reports,
      primaryFailures: state.primaryFailures,
      countsFailure:
        Date.now() - state.failureCountedAt >= probePeriodMs(compDef) * 0.9 &&
        !this.primaryStarting(state, component, pods),
    });
    await this.record(component, compDef, pods, decision);
    this.fence(component, compDef, pods, decision, env);
    if (decision.detach.length > 0) {
      const detached = await this.detach(component, compDef, pods, decision.detach, env);
      if (detached.size === decision.detach.length) {
        // Positions after the detach are final: no replica receives anything from the lost primary now.
        // A detach that printed the role probe's answer already said where it stopped.
        const fresh = await Promise.all(
          pods
            .filter((p) => detached.has(p.metadata!.name!))
            .map(async (pod) => {
              const name = pod.metadata!.name!;
              const answer = parseRoleProbeOutput(detached.get(name)!, compDef.spec.roles ?? []);
              if (!answer.ok) return this.probe(component, compDef, pod, env.base);
              return { pod: name, ordinal: ordinalOf(name), ready: podIsReady(pod), ...answer };
            }),
        );
        for (const report of fresh) {
          const before = reports.find((r) => r.pod === report.pod);
          report.restarted = before?.restarted;
          if (report.ok && report.position !== undefined) state.positions.set(report.pod, report.position);
        }
        reports = reports.map((r) => fresh.find((f) => f.pod === r.pod) ?? r);
        decision = decide({
          ...round,
          ha: component.status?.ha ?? { epoch: 0 },
          reports,
          primaryFailures: decision.primaryFailures,
          detached: new Set(detached.keys()),
        });
        await this.record(component, compDef, pods, decision);
      }
    }
    if (decision.primaryFailures > state.primaryFailures) state.failureCountedAt = Date.now();
    state.primaryFailures = decision.primaryFailures;
    // With nobody to take over, a restart of the primary is over once noticed.
    if (decision.blocked && component.status?.ha?.primary)
      state.restarted.delete(component.status.ha.primary);
    const ha = component.status?.ha;
    const roleEnv = this.roleEnv(env, ha);
    if (decision.promote && this.mayAttempt(state, `promote/${decision.promote}`)) {
      // The new primary's synchronous commits wait for replicas: they are pointed at it while it is
      // promoted, not after (it is the most advanced of them, so following it loses nothing even
      // should the promotion fail).
      const others = reports.filter((r) => r.ok && r.pod !== decision.promote).map((r) => r.pod);
      const following = this.follow(component, compDef, pods, others, env);
      await this.runRoleAction(component, compDef, pods, "promote", decision.promote, roleEnv, async () => {
        // The lost primary's label went before the promotion; the service need not wait a round for a probe.
        const writable = compDef.spec.roles?.find((r) => r.writable)?.name;
        await Promise.all([
          this.writeHa(component, { ...ha!, promotePending: false }),
          this.applyLabels(pods, new Map([[decision.promote!, writable]]), ha!.primary, ha!.epoch, writable),
        ]);
      });
      await following;
    }
    // A stale claimant gets no acknowledgement any more: its demotion must not hold up the next rounds.
    for (const pod of decision.demote) {
      if (!this.mayAttempt(state, `demote/${pod}`)) continue;
      void this.runRoleAction(component, compDef, pods, "demote", pod, roleEnv, async () => undefined);
    }
    const follow = decision.follow.filter((pod) => this.mayAttempt(state, `follow/${pod}`));
    if (follow.length > 0) await this.follow(component, compDef, pods, follow, env);
    const epoch = component.status?.ha?.epoch;
    for (const pod of decision.adopt) {
      await this.markFollowing(component, pod, String(epoch)).catch((error: unknown) =>
        this.ctx.logger.debug({ pod, err: errorMessage(error) }, "follows-epoch annotation failed"),
      );
    }
  }

  /** Persists what a decision changed (before any action runs), its Events and the role labels. */
  private async record(
    component: Component,
    compDef: ComponentDefinition,
    pods: V1Pod[],
    decision: Decision,
  ): Promise<void> {
    const { promote, fence, detach, demote, follow, blocked } = decision;
    if (decision.ha || promote || fence || detach.length || demote.length || follow.length || blocked) {
      this.ctx.logger.debug(
        { component: objectKey(component), ha: decision.ha, promote, fence, detach, demote, follow, blocked },
        "HA decision",
      );
    }
    if (decision.ha) await this.writeHa(component, decision.ha, decision.blocked);
    for (const event of decision.events) {
      // Role changes and failovers are what an operator's log is read for afterwards.
      this.ctx.logger[event.type === "Warning" ? "warn" : "info"](
        { component: objectKey(component), reason: event.reason },
        event.message,
      );
      // Best effort, and not worth a round trip on failover's path.
      void this.ctx.recorder.record(component, event.type, event.reason, event.message);
    }
    await this.applyLabels(
      pods,
      decision.labels,
      component.status?.ha?.primary,
      component.status?.ha?.epoch,
      compDef.spec.roles?.find((r) => r.writable)?.name,
    );
  }

  private roleEnv(env: ComponentEnv, ha: HAStatus | undefined): ActionEnv {
    return failoverEnv(env, { epoch: ha?.epoch, primary: ha?.primary, oldPrimary: ha?.lastFailover?.from });
  }

  /**
   * Stops a lost primary that still answers. Without a detach action the next round waits for it;
   * with one, the replicas' detach is what protects writes, so it runs alongside: a frozen primary
   * must not hold up failover for the length of the demote's timeout.
   */
  private fence(
    component: Component,
    compDef: ComponentDefinition,
    pods: V1Pod[],
    decision: Decision,
    env: ComponentEnv,
  ): void {
    const pod = decision.fence;
    if (!pod || !this.mayAttempt(this.stateOf(objectKey(component)), `demote/${pod}`)) return;
    void this.runRoleAction(
      component,
      compDef,
      pods,
      "demote",
      pod,
      this.roleEnv(env, component.status?.ha),
      async () => undefined,
    );
  }

  /** Runs detach on the given replicas side by side; returns those where it succeeded, with what it printed. */
  private async detach(
    component: Component,
    compDef: ComponentDefinition,
    pods: V1Pod[],
    replicas: string[],
    env: ComponentEnv,
  ): Promise<Map<string, string>> {
    const roleEnv = this.roleEnv(env, component.status?.ha);
    const done = new Map<string, string>();
    await Promise.all(
      replicas.map(async (pod) => {
        try {
          const [outcome] = await this.ctx.actions.run("detach", compDef.spec.lifecycleActions!.detach!, {
            namespace: component.metadata.namespace!,
            pods,
            pod,
            env: roleEnv,
          });
          await this.markFollowing(component, pod, DETACHED);
          done.set(pod, outcome!.result.stdout);
        } catch (error) {
          await this.ctx.recorder.record(component, "Warning", "detachFailed", errorMessage(error));
        }
      }),
    );
    return done;
  }

  /** Records on the pod whom it follows: an epoch, or DETACHED. */
  private async markFollowing(component: Component, pod: string, value: string): Promise<void> {
    await this.ctx.client.patch(
      { apiVersion: "v1", kind: "Pod", namespace: component.metadata.namespace, name: pod },
      { metadata: { annotations: { [annotations.followsEpoch]: value } } },
      "merge",
    );
  }

  /** Points replicas at the recorded primary and notes the epoch on each pod it succeeded for. */
  private async follow(
    component: Component,
    compDef: ComponentDefinition,
    pods: V1Pod[],
    replicas: string[],
    env: ComponentEnv,
  ): Promise<void> {
    const action = compDef.spec.lifecycleActions?.follow;
    const ha = component.status?.ha;
    if (!action || !ha?.primary) return;
    const roleEnv = this.roleEnv(env, ha);
    await Promise.all(
      replicas.map(async (pod) => {
        try {
          await this.ctx.actions.run("follow", action, {
            namespace: component.metadata.namespace!,
            pods,
            pod,
            env: roleEnv,
          });
          await this.markFollowing(component, pod, String(ha.epoch));
        } catch (error) {
          await this.ctx.recorder.record(component, "Warning", "followFailed", errorMessage(error));
        }
      }),
    );
  }

  /** At most one attempt of an action (`action/pod`) every ACTION_RETRY_MS. */
  private mayAttempt(state: ComponentState, attempt: string): boolean {
    const last = state.lastAttempt.get(attempt) ?? 0;
    if (Date.now() - last < ACTION_RETRY_MS) return false;
    state.lastAttempt.set(attempt, Date.now());
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
    // Until its agent has probed again after this action, its report may show the role it had before.
    const acted = { ended: false };
    this.stateOf(objectKey(component)).actedOn.set(pod, acted);
    try {
      await this.ctx.actions
        .run(name, action, { namespace: component.metadata.namespace!, pods, pod, env })
        .finally(() => (acted.ended = true));
      await onSuccess();
      await this.ctx.recorder.record(
        component,
        "Normal",
        name === "promote" ? "Promoted" : "Demoted",
        `${name} of ${pod} succeeded`,
      );
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
