import type { V1Pod, V1PodTemplateSpec } from "@kubernetes/client-node";
import {
  labels,
  type Cluster,
  type ComponentConfiguration,
  type InstanceSet,
  type Release,
  type UpgradeSpec,
} from "@tessera/api";
import { podIsReady } from "../../actions/runner.js";
import {
  DefinitionError,
  quotedList,
  type DefinitionCatalog,
  type ResolvedCluster,
  type ResolvedComponent,
} from "../../definitions.js";
import { desiredInstances } from "../../instanceset/plan.js";
import { buildPod } from "../../instanceset/pods.js";
import {
  componentSettled,
  componentSpec,
  componentSteps,
  entryFor,
  holds,
  instanceIssue,
  notRunning,
  overwritten,
  sectionErrors,
  writeComponent,
} from "../cluster-spec.js";
import type { ClusterView, InstanceReport, OpsHandler, StepContext, StepOutcome } from "../handler.js";

type VersionFields = Pick<ComponentConfiguration, "serviceVersion" | "componentDef">;

/** What an entry writes on the component: the fields it names, the others untouched. */
function wantedOf(entry: UpgradeSpec): VersionFields {
  return {
    ...(entry.serviceVersion ? { serviceVersion: entry.serviceVersion } : {}),
    ...(entry.componentDef ? { componentDef: entry.componentDef } : {}),
  };
}

/** Whether the ComponentVersion lets instances of `from` move to `to`. */
export function upgradable(from: Release, to: Release): boolean {
  return from.name === to.name || (to.upgradeFrom ?? []).includes(from.name);
}

/**
 * Problems with one entry: the definition and version it asks for are resolved
 * as the Cluster would resolve them once written, and the version must be one
 * the ComponentVersion lets the running release upgrade to.
 */
function entryErrors(
  catalog: DefinitionCatalog,
  cluster: Cluster,
  current: ResolvedComponent,
  entry: UpgradeSpec,
  path: string,
): string[] {
  if (!entry.serviceVersion && !entry.componentDef)
    return [
      `${path}: name the serviceVersion or the componentDef to upgrade component ${entry.componentName} to`,
    ];
  const spec = componentSpec(cluster, entry.componentName)!;
  let target: { compDef: string; release: Release };
  try {
    const compDef = entry.componentDef
      ? catalog.componentDefinition(entry.componentDef, `${path}.componentDef`).metadata.name!
      : current.compDef.metadata.name!;
    const field = entry.serviceVersion ? `${path}.serviceVersion` : `${path}.componentDef`;
    const release = catalog.release(compDef, entry.serviceVersion ?? spec.serviceVersion, field);
    target = { compDef, release };
  } catch (error) {
    if (error instanceof DefinitionError) return [error.message];
    throw error;
  }
  const from = current.release;
  const field = entry.serviceVersion ? `${path}.serviceVersion` : `${path}.componentDef`;
  if (target.release.name === from.name && target.compDef === current.compDef.metadata.name)
    return [
      `${field}: component ${entry.componentName} already runs ${target.compDef} ${from.serviceVersion}; name another version or definition`,
    ];
  if (!upgradable(from, target.release)) {
    const allowed = catalog
      .releases(target.compDef)
      .filter((r) => r.name !== from.name && upgradable(from, r))
      .map((r) => r.serviceVersion);
    return [
      `${field}: the ComponentVersion does not let ${entry.componentName} upgrade from ${from.serviceVersion} to ${target.release.serviceVersion} (release "${target.release.name}" does not list "${from.name}" in upgradeFrom); versions it can upgrade to: ${quotedList(allowed)}`,
    ];
  }
  return [];
}

/** Whether the set's pod template carries every image of the release. */
function carries(set: InstanceSet, release: Release): boolean {
  const containers = (set.spec.template as V1PodTemplateSpec).spec?.containers ?? [];
  return containers.every((c) => !release.images[c.name] || c.image === release.images[c.name]);
}

/**
 * Whether the component and its InstanceSet hold the definition and release
 * the Cluster now resolves to: only then do pod revisions tell which
 * instances run them.
 */
function rolledOut(view: ClusterView, resolved: ResolvedComponent): boolean {
  const component = view.component(resolved.name);
  const set = view.instanceSet(resolved.name);
  if (!component || !set) return false;
  return (
    component.spec.compDef === resolved.compDef.metadata.name &&
    component.spec.serviceVersion === resolved.release.serviceVersion &&
    component.status?.observedGeneration === component.metadata.generation &&
    set.status?.observedGeneration === set.metadata.generation &&
    carries(set, resolved.release)
  );
}

function reportInstances(view: ClusterView, name: string, current: boolean): InstanceReport[] {
  const set = view.instanceSet(name);
  if (!set) return [];
  const pods = new Map(view.pods(name).map((p): [string, V1Pod] => [p.metadata!.name!, p]));
  return desiredInstances(set.metadata.name!, set.spec).map((instance): InstanceReport => {
    const pod = pods.get(instance.name);
    const base = { name: instance.name, component: name, action: "Upgrade" };
    const terminating = Boolean(pod?.metadata?.deletionTimestamp);
    const updated = current && pod?.metadata?.labels?.[labels.revision] === buildPod(set, instance).revision;
    if (updated && !terminating && podIsReady(pod!)) return { ...base, phase: "Succeed" };
    if (!pod || terminating || updated)
      return {
        ...base,
        phase: "Processing",
        message:
          instanceIssue(view, name, instance.name) ??
          (terminating ? "stopping" : pod ? "starting" : "being recreated"),
      };
    return { ...base, phase: "Pending", message: "waiting for its turn" };
  });
}

async function converge(
  { view, ctx }: StepContext,
  name: string,
  wanted: VersionFields,
  write: boolean,
): Promise<StepOutcome> {
  if (write) await writeComponent(ctx, view.cluster, name, wanted);
  else {
    const changed = await overwritten(ctx, view.cluster, name, wanted);
    if (changed) return { state: "failed", reason: "ClusterChanged", message: changed, instances: [] };
  }
  const resolved = view.resolved.components.find((c) => c.name === name);
  // The cache may not show the write yet: what it resolves to is not the goal until it does.
  const written = holds(componentSpec(view.cluster, name), wanted) && resolved !== undefined;
  const current = written && rolledOut(view, resolved);
  const instances = reportInstances(view, name, current);
  const done =
    current &&
    instances.length > 0 &&
    instances.every((i) => i.phase === "Succeed") &&
    componentSettled(view, name, "Running");
  return {
    state: done ? "done" : "running",
    message:
      resolved && written ? `${resolved.compDef.metadata.name} ${resolved.release.serviceVersion}` : "",
    instances,
  };
}

/**
 * Upgrade: each component in turn gets the serviceVersion and/or
 * componentDef asked for on the Cluster, checked at apply time against what
 * the ComponentVersion lets the running release upgrade to. The new images
 * (or definition) reach the pod template, so the InstanceSet's role-aware
 * rolling update replaces the instances one at a time, the writable one last
 * after a switchover. Done once every instance runs the new revision and is
 * ready, and the component is Running. Cancelled, it puts the previous fields
 * back, which rolls the instances back the same way.
 */
export const upgrade: OpsHandler = {
  type: "Upgrade",
  cancellable: true,

  validate(op, cluster, resolved: ResolvedCluster, facts) {
    const entries = op.spec.upgrade;
    if (!entries?.length)
      return ["spec.upgrade: list the components to upgrade, each with its serviceVersion or componentDef"];
    const errors = sectionErrors(cluster, "upgrade", entries);
    const catalog = facts?.catalog;
    entries.forEach((entry, i) => {
      const current = resolved.components.find((c) => c.name === entry.componentName);
      if (current && catalog)
        errors.push(...entryErrors(catalog, cluster, current, entry, `spec.upgrade[${i}]`));
    });
    return errors;
  },

  precondition(op, view) {
    return notRunning(
      view,
      (op.spec.upgrade ?? []).map((e) => e.componentName),
      "upgrade",
    );
  },

  plan(op, view) {
    const entries = op.spec.upgrade ?? [];
    return {
      steps: componentSteps("upgrade", entries),
      lastConfiguration: Object.fromEntries(
        entries.map((entry): [string, ComponentConfiguration] => {
          const spec = componentSpec(view.cluster, entry.componentName)!;
          return [
            entry.componentName,
            {
              ...(spec.serviceVersion ? { serviceVersion: spec.serviceVersion } : {}),
              ...(spec.componentDef ? { componentDef: spec.componentDef } : {}),
            },
          ];
        }),
      ),
    };
  },

  async execute(step, context) {
    const name = step.component!;
    const outcome = await converge(
      context,
      name,
      wantedOf(entryFor(context.op.spec.upgrade, name)!),
      step.phase === "Pending",
    );
    outcome.message =
      outcome.state === "done"
        ? `${name} upgraded to ${outcome.message}`
        : `upgrading ${name}${outcome.message ? ` to ${outcome.message}` : ""}`;
    return outcome;
  },

  async revert(context) {
    const last = context.op.status?.lastConfiguration ?? {};
    const outcomes = [];
    // Fields unset before are removed again (undefined), not left as the upgrade wrote them.
    for (const [name, before] of Object.entries(last))
      outcomes.push(
        await converge(
          context,
          name,
          { serviceVersion: before.serviceVersion, componentDef: before.componentDef },
          true,
        ),
      );
    const done = outcomes.every((o) => o.state === "done");
    return {
      state: done ? "done" : "running",
      message: done ? "version back as before" : "putting the previous version back",
      instances: outcomes.flatMap((o) => o.instances),
    };
  },
};
