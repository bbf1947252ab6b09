import { isDeepStrictEqual } from "node:util";
import type { V1Pod, V1PodTemplateSpec } from "@kubernetes/client-node";
import { annotations, type ComponentConfiguration } from "@tessera/api";
import { podIsReady } from "../../actions/runner.js";
import { getCondition } from "../../conditions.js";
import { parameterErrors, splitParameters } from "../../parameters.js";
import {
  componentSettled,
  componentSpec,
  componentSteps,
  entryFor,
  instanceIssue,
  instanceNames,
  notRunning,
  overwritten,
  sectionErrors,
  writeComponent,
} from "../cluster-spec.js";
import type { InstanceReport, OpsHandler, StepContext, StepOutcome } from "../handler.js";

type Parameters = Record<string, string>;

/** Why the component refused the parameters it now holds, or undefined while it has not. */
interface Look extends StepOutcome {
  refusal?: string;
}

/**
 * Whether a pod the operation recreated (since `since`, ms) restarted or
 * ended instead of becoming ready; a pod older than the operation may have
 * restarted for reasons of its own.
 */
function cameBackBroken(pod: V1Pod, since: number | undefined): boolean {
  if (since === undefined || podIsReady(pod)) return false;
  // Creation times have a resolution of a second.
  if (new Date(pod.metadata?.creationTimestamp ?? 0).getTime() < since - 1000) return false;
  if (pod.status?.phase === "Failed") return true;
  return (pod.status?.containerStatuses ?? []).some((c) => c.restartCount > 0);
}

/**
 * One look at a component that should run with `wanted`: the cluster spec is
 * written (or checked to still hold it), then each instance is judged by the
 * config hash its pod carries (static parameters roll it) and the component
 * by the dynamic parameters its reconfigure action applied. A reconfigure that
 * failed for this generation, or a rolled instance that does not come back,
 * is the engine refusing the parameters (looked for only from `since`, the
 * step's start, and not while putting the previous parameters back).
 */
async function converge(
  { view, ctx }: StepContext,
  name: string,
  wanted: Parameters | undefined,
  write: boolean,
  since?: number,
): Promise<Look> {
  if (write) await writeComponent(ctx, view.cluster, name, { parameters: wanted });
  else {
    const changed = await overwritten(ctx, view.cluster, name, { parameters: wanted });
    if (changed) return { state: "failed", reason: "ClusterChanged", message: changed, instances: [] };
  }
  const component = view.component(name);
  const compDef = view.resolved.components.find((c) => c.name === name)!.compDef;
  const current =
    component !== undefined &&
    component.status?.observedGeneration === component.metadata.generation &&
    isDeepStrictEqual(component.spec.parameters ?? {}, wanted ?? {});
  const dynamic = splitParameters(compDef, wanted).dynamic;
  const applied =
    current &&
    isDeepStrictEqual(component.status?.appliedParameters ?? {}, dynamic) &&
    !component.status?.unconfirmedParameters?.length;
  const template = view.instanceSet(name)?.spec.template as V1PodTemplateSpec | undefined;
  const hash = template?.metadata?.annotations?.[annotations.configHash];
  const pods = new Map(view.pods(name).map((p) => [p.metadata!.name!, p]));
  let refusal: string | undefined;
  const spec = componentSpec(view.cluster, name)!;
  const instances = instanceNames(view.cluster.metadata.name!, name, spec).map((instance): InstanceReport => {
    const pod = pods.get(instance);
    const base = { name: instance, component: name, action: "Reconfigure" };
    const terminating = Boolean(pod?.metadata?.deletionTimestamp);
    const updated = current && pod?.metadata?.annotations?.[annotations.configHash] === hash;
    if (!pod || terminating)
      return { ...base, phase: "Processing", message: terminating ? "stopping" : "being recreated" };
    if (!updated) return { ...base, phase: "Pending", message: "waiting for its turn to restart" };
    if (cameBackBroken(pod, since)) {
      const issue = instanceIssue(view, name, instance) ?? "it does not become ready";
      refusal ??= `instance ${instance} did not come back with the new parameters: ${issue}`;
      return { ...base, phase: "Failed", message: issue };
    }
    if (!podIsReady(pod))
      return { ...base, phase: "Processing", message: instanceIssue(view, name, instance) ?? "starting" };
    if (!applied) return { ...base, phase: "Processing", message: "applying the dynamic parameters" };
    return { ...base, phase: "Succeed" };
  });
  const failed = getCondition(component?.status?.conditions, "Reconfigured");
  if (
    since !== undefined &&
    current &&
    !applied &&
    failed?.status === "False" &&
    failed.observedGeneration === component.metadata.generation
  )
    refusal ??= failed.message;
  const done =
    applied && instances.every((i) => i.phase === "Succeed") && componentSettled(view, name, "Running");
  return { state: done ? "done" : "running", message: "", instances, ...(refusal ? { refusal } : {}) };
}

/** Every component the operation changed gets its previous parameters back. */
async function putBack(context: StepContext): Promise<StepOutcome> {
  const last = context.op.status?.lastConfiguration ?? {};
  const outcomes: Look[] = [];
  for (const [name, before] of Object.entries(last))
    outcomes.push(await converge(context, name, before.parameters, true));
  return {
    state: outcomes.every((o) => o.state === "done") ? "done" : "running",
    message: "",
    instances: outcomes.flatMap((o) => o.instances),
  };
}

/**
 * Reconfiguring: each component in turn gets its new parameters on the
 * Cluster. Dynamic ones are applied on every instance by the definition's
 * reconfigure action, without a restart; a static one changes the config
 * hash, so the InstanceSet's role-aware rolling update restarts the instances,
 * the writable one last after a switchover. If the engine refuses them (the
 * action fails, or an instance does not come back), every component gets its
 * previous parameters back and the operation Fails with the engine's words.
 */
export const reconfiguring: OpsHandler = {
  type: "Reconfiguring",
  cancellable: true,

  validate(op, cluster, resolved) {
    const entries = op.spec.reconfiguring;
    if (!entries?.length)
      return ["spec.reconfiguring: list the components to reconfigure, each with its parameters"];
    const errors = sectionErrors(cluster, "reconfiguring", entries);
    entries.forEach((entry, i) => {
      const component = resolved.components.find((c) => c.name === entry.componentName);
      if (component)
        errors.push(
          ...parameterErrors(component.compDef, entry.parameters, `spec.reconfiguring[${i}].parameters`),
        );
    });
    return errors;
  },

  precondition(op, view) {
    return notRunning(
      view,
      (op.spec.reconfiguring ?? []).map((e) => e.componentName),
      "reconfigure",
    );
  },

  plan(op, view) {
    const entries = op.spec.reconfiguring ?? [];
    return {
      steps: componentSteps("reconfigure", entries),
      lastConfiguration: Object.fromEntries(
        entries.map((entry): [string, ComponentConfiguration] => {
          const parameters = componentSpec(view.cluster, entry.componentName)!.parameters;
          return [entry.componentName, parameters ? { parameters } : {}];
        }),
      ),
    };
  },

  async execute(step, context) {
    if (step.refusal) {
      const back = await putBack(context);
      if (back.state === "done")
        return { ...back, state: "failed", reason: "EngineRefused", message: step.refusal };
      return { ...back, message: `putting the previous parameters back: ${step.refusal}` };
    }
    const name = step.component!;
    const before = context.op.status!.lastConfiguration![name]!;
    const wanted = { ...before.parameters, ...entryFor(context.op.spec.reconfiguring, name)!.parameters };
    const since = step.startTime ? Date.parse(step.startTime) : undefined;
    const outcome = await converge(context, name, wanted, step.phase === "Pending", since);
    if (outcome.refusal) {
      await context.save({ refusal: outcome.refusal });
      await context.ctx.recorder.record(
        context.op,
        "Warning",
        "EngineRefused",
        `${outcome.refusal}; putting the previous parameters back`,
      );
      return {
        ...outcome,
        state: "running",
        message: `putting the previous parameters back: ${outcome.refusal}`,
      };
    }
    outcome.message = outcome.state === "done" ? `${name} reconfigured` : `reconfiguring ${name}`;
    return outcome;
  },

  async revert(context) {
    const back = await putBack(context);
    back.message =
      back.state === "done" ? "parameters back as before" : "putting the parameters back as before";
    return back;
  },
};
