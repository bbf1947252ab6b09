import type { ComponentConfiguration, HorizontalScaling } from "@tessera/api";
import { podIsReady } from "../../actions/runner.js";
import type { ResolvedCluster } from "../../definitions.js";
import {
  componentSettled,
  componentSpec,
  componentSteps,
  configurationOf,
  entryFor,
  instanceIssue,
  instanceNames,
  notRunning,
  overwritten,
  sectionErrors,
  writeComponent,
} from "../cluster-spec.js";
import type { InstanceReport, OpsHandler } from "../handler.js";

/** The replicas and offline instances a scaling asks for, from the component's as they were. */
export function scalingTarget(
  entry: HorizontalScaling,
  before: ComponentConfiguration,
): { replicas: number; offlineInstances: string[] } {
  const offline = new Set(before.offlineInstances ?? []);
  let replicas = before.replicas ?? 1;
  for (const name of entry.onlineInstances ?? []) if (offline.delete(name)) replicas++;
  for (const name of entry.offlineInstances ?? []) {
    if (offline.has(name)) continue;
    offline.add(name);
    replicas--;
  }
  return { replicas: entry.replicas ?? replicas, offlineInstances: [...offline] };
}

function limitOf(resolved: ResolvedCluster, component: string) {
  return resolved.components.find((c) => c.name === component)?.compDef;
}

/**
 * HorizontalScaling: each component in turn gets its new replicas and
 * offlineInstances; the InstanceSet adds instances (memberJoin once ready) and
 * removes exactly the ones asked (memberLeave first, the writable one last
 * after a switchover), deleting their volumes. Done once the added instances
 * are ready, the removed ones gone, and the component Running.
 */
export const horizontalScaling: OpsHandler = {
  type: "HorizontalScaling",
  cancellable: true,

  validate(op, cluster, resolved) {
    const entries = op.spec.horizontalScaling;
    if (!entries?.length)
      return [
        "spec.horizontalScaling: list the components to scale, each with replicas, offlineInstances or onlineInstances",
      ];
    const errors = sectionErrors(cluster, "horizontalScaling", entries);
    entries.forEach((entry, i) => {
      const path = `spec.horizontalScaling[${i}]`;
      const spec = componentSpec(cluster, entry.componentName);
      if (!spec) return;
      if (entry.replicas === undefined && !entry.offlineInstances?.length && !entry.onlineInstances?.length)
        errors.push(`${path}: set replicas, offlineInstances or onlineInstances`);
      const current = instanceNames(cluster.metadata.name!, entry.componentName, spec);
      (entry.offlineInstances ?? []).forEach((name, j) => {
        if (!current.includes(name))
          errors.push(
            `${path}.offlineInstances[${j}]: "${name}" is not an instance of component ${entry.componentName}; instances: ${current.map((c) => `"${c}"`).join(", ")}`,
          );
      });
      const offline = spec.offlineInstances ?? [];
      (entry.onlineInstances ?? []).forEach((name, j) => {
        if (!offline.includes(name))
          errors.push(
            `${path}.onlineInstances[${j}]: "${name}" is not an offline instance of component ${entry.componentName}; offline: ${offline.length ? offline.map((c) => `"${c}"`).join(", ") : "(none)"}`,
          );
        if (entry.offlineInstances?.includes(name))
          errors.push(
            `${path}.onlineInstances[${j}]: "${name}" is also in offlineInstances; list it in one of them`,
          );
      });
      const { replicas } = scalingTarget(entry, configurationOf(spec));
      const field = entry.replicas === undefined ? path : `${path}.replicas`;
      const limit = limitOf(resolved, entry.componentName)?.spec.replicasLimit;
      if (replicas < 0) errors.push(`${field}: the scaling leaves ${replicas} instances; keep at least 0`);
      else if (limit && (replicas < limit.minReplicas || replicas > limit.maxReplicas))
        errors.push(
          `${field}: ${replicas} instances is outside ${limit.minReplicas}..${limit.maxReplicas} allowed by ComponentDefinition "${limitOf(resolved, entry.componentName)!.metadata.name}"`,
        );
    });
    return errors;
  },

  precondition(op, view) {
    return notRunning(
      view,
      (op.spec.horizontalScaling ?? []).map((e) => e.componentName),
      "scale",
    );
  },

  plan(op, view) {
    const entries = op.spec.horizontalScaling ?? [];
    return {
      steps: componentSteps("scale", entries),
      lastConfiguration: Object.fromEntries(
        entries.map((entry) => {
          const { replicas, offlineInstances } = configurationOf(
            componentSpec(view.cluster, entry.componentName)!,
          );
          return [entry.componentName, { replicas, offlineInstances: offlineInstances ?? [] }];
        }),
      ),
    };
  },

  async execute(step, { op, view, ctx }) {
    const name = step.component!;
    const before = op.status!.lastConfiguration![name]!;
    const target = scalingTarget(entryFor(op.spec.horizontalScaling, name)!, before);
    return converge(step.phase === "Pending", name, before, target, { view, ctx });
  },

  async revert({ op, view, ctx }) {
    const last = op.status?.lastConfiguration ?? {};
    const reports: InstanceReport[] = [];
    let done = true;
    for (const [name, before] of Object.entries(last)) {
      const wanted = { replicas: before.replicas ?? 1, offlineInstances: before.offlineInstances ?? [] };
      const current = configurationOf(componentSpec(view.cluster, name)!);
      const outcome = await converge(true, name, current, wanted, { view, ctx });
      reports.push(...outcome.instances);
      done &&= outcome.state === "done";
    }
    return {
      state: done ? "done" : "running",
      message: done ? "replicas back as before" : "putting the replicas back as before",
      instances: reports,
    };
  },
};

async function converge(
  write: boolean,
  name: string,
  before: ComponentConfiguration,
  target: { replicas: number; offlineInstances: string[] },
  { view, ctx }: Pick<Parameters<OpsHandler["execute"]>[1], "view" | "ctx">,
) {
  if (write) await writeComponent(ctx, view.cluster, name, target);
  else {
    const changed = await overwritten(ctx, view.cluster, name, target);
    if (changed)
      return { state: "failed" as const, reason: "ClusterChanged", message: changed, instances: [] };
  }
  const cluster = view.cluster.metadata.name!;
  const spec = componentSpec(view.cluster, name)!;
  const old = new Set(instanceNames(cluster, name, { ...spec, ...before }));
  const wanted = new Set(instanceNames(cluster, name, { ...spec, ...target }));
  const pods = new Map(view.pods(name).map((p) => [p.metadata!.name!, p]));
  const instances: InstanceReport[] = [];
  for (const instance of wanted) {
    if (old.has(instance)) continue;
    const pod = pods.get(instance);
    const base = { name: instance, component: name, action: "Create" };
    if (pod && !pod.metadata?.deletionTimestamp && podIsReady(pod))
      instances.push({ ...base, phase: "Succeed" });
    else
      instances.push({
        ...base,
        phase: "Processing",
        message: instanceIssue(view, name, instance) ?? (pod ? "starting" : "being created"),
      });
  }
  for (const instance of old) {
    if (wanted.has(instance)) continue;
    const pod = pods.get(instance);
    const base = { name: instance, component: name, action: "Remove" };
    if (!pod) instances.push({ ...base, phase: "Succeed" });
    else if (pod.metadata?.deletionTimestamp)
      instances.push({ ...base, phase: "Processing", message: "stopping" });
    else instances.push({ ...base, phase: "Pending", message: "waiting for its turn" });
  }
  const done = instances.every((i) => i.phase === "Succeed") && componentSettled(view, name, "Running");
  return {
    state: done ? ("done" as const) : ("running" as const),
    message: done
      ? `${name} has ${target.replicas} instance(s)`
      : `scaling ${name} to ${target.replicas} instance(s)`,
    instances,
  };
}
