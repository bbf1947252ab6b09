import type { V1Pod } from "@kubernetes/client-node";
import type { ComponentConfiguration, ResourceRequirements } from "@tessera/api";
import { parseQuantity } from "@tessera/base";
import { podIsReady } from "../../actions/runner.js";
import { desiredInstances } from "../../instanceset/plan.js";
import { names } from "../../naming.js";
import {
  componentSettled,
  componentSpec,
  componentSteps,
  entryFor,
  instanceIssue,
  notRunning,
  overwritten,
  sectionErrors,
  writeComponent,
} from "../cluster-spec.js";
import type { ClusterView, InstanceReport, OpsHandler, StepContext, StepOutcome } from "../handler.js";

type Amounts = Record<string, string | number>;

/** The component's resources with each amount of `change` in place of its own. */
export function mergeResources(
  current: ResourceRequirements | undefined,
  change: ResourceRequirements,
): ResourceRequirements {
  const merge = (a: Amounts | undefined, b: Amounts | undefined) => {
    const merged = { ...a, ...b };
    return Object.keys(merged).length ? merged : undefined;
  };
  const limits = merge(current?.limits, change.limits);
  const requests = merge(current?.requests, change.requests);
  return { ...(limits ? { limits } : {}), ...(requests ? { requests } : {}) };
}

/** Requests above limits in the merged resources, naming the field of the request that causes it. */
function requestErrors(path: string, merged: ResourceRequirements, change: ResourceRequirements): string[] {
  const errors: string[] = [];
  for (const [name, requested] of Object.entries(merged.requests ?? {})) {
    const limit = merged.limits?.[name];
    if (limit === undefined || parseQuantity(requested) <= parseQuantity(limit)) continue;
    errors.push(
      change.requests?.[name] !== undefined
        ? `${path}.resources.requests.${name}: ${requested} is above the limit ${limit}; lower the request or raise resources.limits.${name}`
        : `${path}.resources.limits.${name}: ${limit} is below the component's request ${requested}; raise the limit or lower resources.requests.${name} too`,
    );
  }
  return errors;
}

/** Whether the pod's main container runs with every amount `wanted` names. */
function runsWith(pod: V1Pod, wanted: ResourceRequirements): boolean {
  const actual = pod.spec?.containers[0]?.resources;
  const same = (want: Amounts | undefined, have: Record<string, unknown> | undefined) =>
    Object.entries(want ?? {}).every(
      ([name, amount]) => parseQuantity(amount) === parseQuantity(have?.[name] as string),
    );
  return same(wanted.limits, actual?.limits) && same(wanted.requests, actual?.requests);
}

/**
 * The instances that take the component's resources: those of instance
 * templates with resources of their own keep theirs.
 */
function scaledInstances(view: ClusterView, name: string): string[] {
  const spec = componentSpec(view.cluster, name)!;
  const set = names.instanceSet(names.component(view.cluster.metadata.name!, name));
  return desiredInstances(set, { ...spec, replicas: spec.replicas ?? 1 })
    .filter((d) => !d.template?.resources)
    .map((d) => d.name);
}

async function converge(
  { view, ctx }: StepContext,
  name: string,
  wanted: ResourceRequirements | undefined,
  write: boolean,
): Promise<StepOutcome> {
  if (write) await writeComponent(ctx, view.cluster, name, { resources: wanted });
  else {
    const changed = await overwritten(ctx, view.cluster, name, { resources: wanted });
    if (changed) return { state: "failed", reason: "ClusterChanged", message: changed, instances: [] };
  }
  const pods = new Map(view.pods(name).map((p) => [p.metadata!.name!, p]));
  const instances = scaledInstances(view, name).map((instance): InstanceReport => {
    const pod = pods.get(instance);
    const base = { name: instance, component: name, action: "Update" };
    const terminating = Boolean(pod?.metadata?.deletionTimestamp);
    const updated = pod !== undefined && runsWith(pod, wanted ?? {});
    if (updated && !terminating && podIsReady(pod!)) return { ...base, phase: "Succeed" };
    if (!pod || terminating || updated)
      return {
        ...base,
        phase: "Processing",
        message:
          instanceIssue(view, name, instance) ??
          (terminating ? "stopping" : pod ? "starting" : "being recreated"),
      };
    return { ...base, phase: "Pending", message: "waiting for its turn" };
  });
  const done = instances.every((i) => i.phase === "Succeed") && componentSettled(view, name, "Running");
  return { state: done ? "done" : "running", message: "", instances };
}

/**
 * VerticalScaling: each component in turn gets its new resources; the
 * InstanceSet's role-aware rolling update restarts its instances with them,
 * the writable one last after a switchover. Done once every instance runs with
 * them and is ready, and the component is Running.
 */
export const verticalScaling: OpsHandler = {
  type: "VerticalScaling",
  cancellable: true,

  validate(op, cluster) {
    const entries = op.spec.verticalScaling;
    if (!entries?.length)
      return ["spec.verticalScaling: list the components to resize, each with its resources"];
    const errors = sectionErrors(cluster, "verticalScaling", entries);
    entries.forEach((entry, i) => {
      const path = `spec.verticalScaling[${i}]`;
      const spec = componentSpec(cluster, entry.componentName);
      if (!spec) return;
      if (
        !Object.keys(entry.resources.limits ?? {}).length &&
        !Object.keys(entry.resources.requests ?? {}).length
      )
        errors.push(`${path}.resources: name at least one amount in requests or limits`);
      errors.push(...requestErrors(path, mergeResources(spec.resources, entry.resources), entry.resources));
    });
    return errors;
  },

  precondition(op, view) {
    return notRunning(
      view,
      (op.spec.verticalScaling ?? []).map((e) => e.componentName),
      "resize",
    );
  },

  plan(op, view) {
    const entries = op.spec.verticalScaling ?? [];
    return {
      steps: componentSteps("resize", entries),
      lastConfiguration: Object.fromEntries(
        entries.map((entry): [string, ComponentConfiguration] => {
          const resources = componentSpec(view.cluster, entry.componentName)!.resources;
          return [entry.componentName, resources ? { resources } : {}];
        }),
      ),
    };
  },

  async execute(step, context) {
    const name = step.component!;
    const before = context.op.status!.lastConfiguration![name]!;
    const wanted = mergeResources(
      before.resources,
      entryFor(context.op.spec.verticalScaling, name)!.resources,
    );
    const outcome = await converge(context, name, wanted, step.phase === "Pending");
    outcome.message ||= outcome.state === "done" ? `${name} resized` : `resizing ${name}`;
    return outcome;
  },

  async revert(context) {
    const last = context.op.status?.lastConfiguration ?? {};
    const outcomes = [];
    for (const [name, before] of Object.entries(last))
      outcomes.push(await converge(context, name, before.resources, true));
    const done = outcomes.every((o) => o.state === "done");
    return {
      state: done ? "done" : "running",
      message: done ? "resources back as before" : "putting the resources back as before",
      instances: outcomes.flatMap((o) => o.instances),
    };
  },
};
