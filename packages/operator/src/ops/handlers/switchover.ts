import type { V1Pod } from "@kubernetes/client-node";
import { labels, type ComponentDefinition, type OpsStep } from "@tessera/api";
import { errorMessage } from "@tessera/kube";
import { componentEnv, parseRoleProbeOutput } from "../../actions/contract/index.js";
import { podIsReady } from "../../actions/runner.js";
import type { OperatorContext } from "../../context.js";
import { followedEpoch } from "../../ha/follows-epoch.js";
import { isWritable, ordinalOf } from "../../instanceset/plan.js";
import { runSwitchover, switchoverInProgress } from "../../instanceset/switchover.js";
import {
  componentPhase,
  componentSettled,
  componentSpec,
  componentSteps,
  entryFor,
  instanceNames,
  sectionErrors,
} from "../cluster-spec.js";
import type { ClusterView, InstanceReport, OpsHandler, StepOutcome } from "../handler.js";

/** Attempts of the switchover action before the operation fails. */
const MAX_ATTEMPTS = 3;
/**
 * The least time between two runs of the switchover action. An engine may move the role after the
 * action returned (when the engine elects the new primary itself), and the record of the attempt may reach the
 * informer's cache after the next look: an immediate retry would only collide with the first.
 */
const ATTEMPT_SPACING_MS = 15_000;

function definitionOf(
  view: Pick<ClusterView, "resolved">,
  component: string,
): ComponentDefinition | undefined {
  return view.resolved.components.find((c) => c.name === component)?.compDef;
}

const serving = (pod: V1Pod) => podIsReady(pod) && !pod.metadata?.deletionTimestamp;

/**
 * The ready replica with the most advanced position its role probe reports
 * (ties and unanswered probes: the lowest ordinal), as failover would choose.
 */
async function bestCandidate(
  ctx: OperatorContext,
  view: ClusterView,
  component: string,
  primary: string,
): Promise<string | undefined> {
  const replicas = view
    .pods(component)
    .filter((p) => serving(p) && p.metadata!.name !== primary)
    .sort((a, b) => ordinalOf(a.metadata!.name!) - ordinalOf(b.metadata!.name!));
  const compDef = definitionOf(view, component);
  const probe = compDef?.spec.lifecycleActions?.roleProbe;
  const set = view.instanceSet(component);
  if (!probe || !set) return replicas[0]?.metadata?.name;
  const env = componentEnv(view.cluster.metadata.namespace!, set.spec.serviceName, set).base;
  const positions = await Promise.all(
    replicas.map(async (pod) => {
      try {
        const [outcome] = await ctx.actions.run("roleProbe", probe, {
          namespace: view.cluster.metadata.namespace!,
          pods: [pod],
          pod: pod.metadata!.name!,
          env,
        });
        const report = parseRoleProbeOutput(outcome!.result.stdout, compDef.spec.roles ?? []);
        return report.ok && !isWritable(report.role, compDef.spec.roles ?? []) ? (report.position ?? 0) : -1;
      } catch {
        return -1;
      }
    }),
  );
  let best = 0;
  positions.forEach((position, i) => {
    if (position > positions[best]!) best = i;
  });
  return replicas[best]?.metadata?.name;
}

/**
 * Whether every ready replica follows the primary of the current epoch. Until then the HA loop has
 * yet to point the demoted primary at its successor, which may restart it: a switchover is not
 * over while the component is about to become Abnormal again.
 */
function replicasFollow(view: ClusterView, component: string): boolean {
  if (!definitionOf(view, component)?.spec.lifecycleActions?.follow) return true;
  const ha = view.component(component)?.status?.ha;
  return view
    .pods(component)
    .filter((p) => serving(p) && p.metadata!.name !== ha?.primary)
    .every((p) => followedEpoch(p) === ha?.epoch);
}

function reports(step: OpsStep, component: string, phase: InstanceReport["phase"]): InstanceReport[] {
  return [
    { name: step.from!, component, action: "Switchover", phase, message: "hands over the writable role" },
    { name: step.candidate!, component, action: "Switchover", phase, message: "takes the writable role" },
  ];
}

/**
 * Switchover: for each component in turn, the writable role moves from the
 * recorded primary to the named candidate (or the most advanced ready
 * replica) through the InstanceSet's switchover (see `runSwitchover`): the HA
 * loop holds off failover meanwhile and adopts the candidate. Done once the
 * candidate is the recorded primary with the writable label, every replica
 * follows it and the component is Running; the action runs at most three times.
 */
export const switchover: OpsHandler = {
  type: "Switchover",
  cancellable: false,

  validate(op, cluster, resolved) {
    const entries = op.spec.switchover;
    if (!entries?.length) return ["spec.switchover: list the components whose writable role should move"];
    const errors = sectionErrors(cluster, "switchover", entries);
    entries.forEach((entry, i) => {
      const path = `spec.switchover[${i}]`;
      const spec = componentSpec(cluster, entry.componentName);
      if (!spec) return;
      const compDef = definitionOf({ resolved }, entry.componentName);
      if (
        compDef &&
        (!compDef.spec.lifecycleActions?.switchover || !compDef.spec.roles?.some((r) => r.writable))
      )
        errors.push(
          `${path}.componentName: component ${entry.componentName} (ComponentDefinition "${compDef.metadata.name}") has no writable role with a switchover action to move`,
        );
      const instances = instanceNames(cluster.metadata.name!, entry.componentName, spec);
      if (entry.candidateName !== undefined && !instances.includes(entry.candidateName))
        errors.push(
          `${path}.candidateName: "${entry.candidateName}" is not an instance of component ${entry.componentName}; instances: ${instances.map((n) => `"${n}"`).join(", ")}`,
        );
    });
    return errors;
  },

  precondition(op, view) {
    for (const entry of op.spec.switchover ?? []) {
      const name = entry.componentName;
      const phase = componentPhase(view, name);
      if (phase !== "Running") return `component ${name} is ${phase}; a switchover needs it Running`;
      if (switchoverInProgress(view.instanceSet(name)))
        return `a switchover of component ${name} is already in progress`;
      const primary = view.component(name)?.status?.ha?.primary;
      if (!primary) return `component ${name} has no recorded primary to switch over from`;
      const others = view.pods(name).filter((p) => serving(p) && p.metadata!.name !== primary);
      if (others.length === 0)
        return `component ${name} has no other ready instance to take the writable role`;
      const candidate = entry.candidateName;
      if (candidate && candidate !== primary && !others.some((p) => p.metadata!.name === candidate))
        return `candidate ${candidate} of component ${name} is not ready`;
    }
    return undefined;
  },

  plan(op) {
    return {
      steps: componentSteps("switchover", op.spec.switchover ?? []),
    };
  },

  async execute(current, { op, view, ctx, save }): Promise<StepOutcome> {
    const name = current.component!;
    const step = { ...current };
    const component = view.component(name);
    const set = view.instanceSet(name);
    const primary = component?.status?.ha?.primary;
    if (!set || !primary)
      return {
        state: "failed",
        reason: "NoPrimary",
        message: `component ${name} has no recorded primary`,
        instances: [],
      };
    if (!step.from || !step.candidate) {
      const candidate =
        entryFor(op.spec.switchover, name)?.candidateName ?? (await bestCandidate(ctx, view, name, primary));
      if (!candidate)
        return {
          state: "failed",
          reason: "NoCandidate",
          message: `component ${name} has no ready replica`,
          instances: [],
        };
      Object.assign(step, { from: primary, candidate, attempts: 0 });
      await save({ from: primary, candidate, attempts: 0 });
    }
    if (
      entryFor(op.spec.switchover, name)?.candidateName === undefined &&
      primary !== step.from &&
      primary !== step.candidate
    ) {
      // An unnamed candidate was only the operator's preference: an engine that elects the new
      // primary itself moved the role away all the same.
      step.candidate = primary;
      await save({ candidate: primary });
    }
    const roles = set.spec.roles ?? [];
    const pods = view.pods(name);
    const candidatePod = pods.find((p) => p.metadata?.name === step.candidate);
    const holds =
      isWritable(candidatePod?.metadata?.labels?.[labels.role], roles) && primary === step.candidate;
    if (step.from === step.candidate)
      return {
        state: "done",
        message: `${step.candidate} already holds the writable role`,
        instances: reports(step, name, "Succeed"),
      };
    if (
      holds &&
      !set.status?.switchover &&
      componentSettled(view, name, "Running") &&
      replicasFollow(view, name)
    )
      return {
        state: "done",
        message: `${step.candidate} holds the writable role of ${name}`,
        instances: reports(step, name, "Succeed"),
      };
    if (primary !== step.from && primary !== step.candidate)
      return {
        state: "failed",
        reason: "RoleMovedElsewhere",
        message: `the writable role of ${name} went to ${primary}, not to ${step.candidate}`,
        instances: reports(step, name, "Failed"),
      };
    if (holds || switchoverInProgress(set))
      return {
        state: "running",
        message: `${step.candidate} is taking the writable role`,
        instances: reports(step, name, "Processing"),
      };
    const attempts = step.attempts ?? 0;
    if (step.attemptedAt && Date.now() - Date.parse(step.attemptedAt) < ATTEMPT_SPACING_MS)
      return {
        state: "running",
        message: `${step.candidate} is taking the writable role`,
        instances: reports(step, name, "Processing"),
      };
    if (attempts >= MAX_ATTEMPTS)
      return {
        state: "failed",
        reason: "SwitchoverFailed",
        message: `the writable role of ${name} did not move from ${step.from} to ${step.candidate} after ${attempts} attempts; see the InstanceSet's SwitchoverFailed events`,
        instances: reports(step, name, "Failed"),
      };
    await save({ attempts: attempts + 1, attemptedAt: new Date().toISOString() });
    try {
      // The cached set is shared with the informer: the switchover records its marker on a copy.
      await runSwitchover(
        ctx,
        structuredClone(set),
        pods.filter((p) => !p.metadata?.deletionTimestamp),
        step.from!,
        step.candidate,
      );
    } catch (error) {
      return {
        state: "running",
        message: `attempt ${attempts + 1} of the switchover failed: ${errorMessage(error)}`,
        instances: reports(step, name, "Processing"),
      };
    }
    return {
      state: "running",
      message: `${step.candidate} is taking the writable role`,
      instances: reports(step, name, "Processing"),
    };
  },
};
