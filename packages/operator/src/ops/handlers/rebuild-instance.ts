import type { ComponentDefinition, OpsStep, RebuildInstanceSpec } from "@tessera/api";
import { labels } from "@tessera/api";
import { isConflict } from "@tessera/kube";
import { podIsReady } from "../../actions/runner.js";
import type { ResolvedCluster } from "../../definitions.js";
import { componentSpec, instanceIssue, instanceNames, notRunning, sectionErrors } from "../cluster-spec.js";
import type { ClusterView, InstanceReport, OpsHandler, StepContext, StepOutcome } from "../handler.js";

function definitionOf(resolved: ResolvedCluster, component: string): ComponentDefinition | undefined {
  return resolved.components.find((c) => c.name === component)?.compDef;
}

const quoted = (list: string[]) => (list.length ? list.map((n) => `"${n}"`).join(", ") : "(none)");

/** Problems of one entry of spec.rebuildInstance, each naming its field. */
function entryErrors(
  entry: RebuildInstanceSpec,
  path: string,
  instances: string[],
  compDef: ComponentDefinition | undefined,
  primary: string | undefined,
): string[] {
  const errors: string[] = [];
  if (compDef && !compDef.spec.roles?.some((r) => r.writable))
    errors.push(
      `${path}.componentName: component ${entry.componentName} (ComponentDefinition "${compDef.metadata.name}") has no writable role, so no primary to copy the data from`,
    );
  else if (instances.length < 2)
    errors.push(
      `${path}.componentName: component ${entry.componentName} has ${instances.length} instance(s); a rebuild copies the data from another one, so it needs at least 2 (scale it out first)`,
    );
  entry.instances.forEach((name, j) => {
    const field = `${path}.instances[${j}]`;
    if (!instances.includes(name))
      errors.push(
        `${field}: "${name}" is not an instance of component ${entry.componentName}; instances: ${quoted(instances)}`,
      );
    else if (name === primary)
      errors.push(
        `${field}: "${name}" is the writable instance (primary) of component ${entry.componentName}, the one the data is copied from; switch over first (an OpsRequest of type Switchover), then rebuild it`,
      );
    else if (entry.instances.indexOf(name) !== j)
      errors.push(`${field}: "${name}" is listed twice; list it once`);
  });
  return errors;
}

/** The primary the component's HA loop records. */
function primaryOf(view: Pick<ClusterView, "component">, component: string): string | undefined {
  return view.component(component)?.status?.ha?.primary;
}

/** What the step's instance is made of now: its pod and claims, each by UID. */
function partsOf(view: ClusterView, component: string, instance: string) {
  const pod = view.pods(component).find((p) => p.metadata?.name === instance);
  const claims = view.claims(component).filter((c) => c.metadata?.labels?.[labels.podName] === instance);
  return { pod, claims };
}

/**
 * Deletes what is left of the instance as it was (claims first, so the
 * InstanceSet never restarts the pod on its old volume), each by UID so a
 * recreated object is never deleted.
 */
async function removeOld(
  { ctx, view }: StepContext,
  step: OpsStep,
  parts: ReturnType<typeof partsOf>,
): Promise<void> {
  const namespace = view.cluster.metadata.namespace;
  const old = new Set(step.replaced);
  const targets = [
    ...parts.claims.map((c) => ({ object: c, kind: "PersistentVolumeClaim" })),
    ...(parts.pod ? [{ object: parts.pod, kind: "Pod" }] : []),
  ];
  for (const { object, kind } of targets) {
    const uid = object.metadata!.uid!;
    if (!old.has(uid) || object.metadata?.deletionTimestamp) continue;
    await ctx.client
      .delete({ apiVersion: "v1", kind, namespace, name: object.metadata!.name! }, { preconditions: { uid } })
      .catch((error: unknown) => {
        if (!isConflict(error)) throw error;
      });
  }
}

/** Where the rebuilt instance stands: its new pod and claims exist, and it is ready, with a role, and joined. */
function rebuilt(view: ClusterView, step: OpsStep, parts: ReturnType<typeof partsOf>): string | undefined {
  const old = new Set(step.replaced);
  const component = step.component!;
  const { pod, claims } = parts;
  if (pod && old.has(pod.metadata!.uid!)) return "stopping";
  if (claims.some((c) => old.has(c.metadata!.uid!) || c.metadata?.deletionTimestamp))
    return "waiting for its old volumes to go";
  if (!pod || pod.metadata?.deletionTimestamp) return "being recreated";
  if (!podIsReady(pod)) return instanceIssue(view, component, step.instance!) ?? "starting on new volumes";
  if (!pod.metadata?.labels?.[labels.role]) return "waiting for its role";
  const set = view.instanceSet(component);
  const joined = set?.status?.instances?.find((i) => i.name === step.instance)?.memberJoined;
  if (set?.spec.lifecycleActions?.memberJoin && !joined) return "joining";
  return undefined;
}

/** The progress of every instance the step's component rebuilds: those of earlier steps done, later ones waiting. */
function reports(op: StepContext["op"], step: OpsStep, current: InstanceReport): InstanceReport[] {
  const steps = op.status?.steps ?? [];
  return steps
    .filter((s) => s.component === step.component)
    .map((s): InstanceReport => {
      if (s.instance === step.instance) return current;
      const base = { name: s.instance!, component: s.component!, action: "Rebuild" };
      return s.phase === "Succeed"
        ? { ...base, phase: "Succeed" }
        : { ...base, phase: "Pending", message: "waiting for its turn" };
    });
}

/**
 * RebuildInstance: each listed instance in turn gets its data made anew,
 * keeping its name. The operation records the UIDs of its pod and claims,
 * deletes the claims and then the pod; the InstanceSet creates both again
 * (once the old claims are gone), and the new instance starts on empty
 * volumes, which the engine fills from the primary as it joins (memberJoin
 * runs again for new volumes). Done once the new pod is ready with a role and
 * has joined. Not cancellable: an instance half rebuilt has no data to put back.
 */
export const rebuildInstance: OpsHandler = {
  type: "RebuildInstance",
  cancellable: false,

  validate(op, cluster, resolved, facts) {
    const entries = op.spec.rebuildInstance;
    if (!entries?.length)
      return ["spec.rebuildInstance: list the components and, for each, the instances to rebuild"];
    const errors = sectionErrors(cluster, "rebuildInstance", entries);
    entries.forEach((entry, i) => {
      const spec = componentSpec(cluster, entry.componentName);
      if (!spec) return;
      errors.push(
        ...entryErrors(
          entry,
          `spec.rebuildInstance[${i}]`,
          instanceNames(cluster.metadata.name!, entry.componentName, spec),
          definitionOf(resolved, entry.componentName),
          facts && primaryOf(facts, entry.componentName),
        ),
      );
    });
    return errors;
  },

  precondition(op, view) {
    const entries = op.spec.rebuildInstance ?? [];
    const unmet = notRunning(
      view,
      entries.map((e) => e.componentName),
      "rebuild an instance of",
    );
    if (unmet) return unmet;
    for (const entry of entries) {
      const primary = primaryOf(view, entry.componentName);
      const pod = view.pods(entry.componentName).find((p) => p.metadata?.name === primary);
      if (!primary || !pod || !podIsReady(pod))
        return `component ${entry.componentName} has no ready primary to copy the data from`;
      if (entry.instances.includes(primary))
        return `${primary} is the writable instance of component ${entry.componentName} now; switch over first, then rebuild it`;
    }
    return undefined;
  },

  plan(op) {
    return {
      steps: (op.spec.rebuildInstance ?? []).flatMap((entry) =>
        entry.instances.map((instance): OpsStep => ({
          name: `rebuild ${instance}`,
          component: entry.componentName,
          instance,
          phase: "Pending",
        })),
      ),
    };
  },

  async execute(current, context): Promise<StepOutcome> {
    const { view, save, op } = context;
    const step = { ...current };
    const component = step.component!;
    const base = { name: step.instance!, component, action: "Rebuild" };
    const parts = partsOf(view, component, step.instance!);
    if (!step.replaced) {
      // Checked again as it begins: the primary may have moved since the operation started.
      if (primaryOf(view, component) === step.instance)
        return {
          state: "failed",
          reason: "InstanceIsPrimary",
          message: `${step.instance} became the writable instance of ${component}; switch over first, then rebuild it`,
          instances: reports(op, step, { ...base, phase: "Failed" }),
        };
      const replaced = [parts.pod, ...parts.claims].flatMap((o) => (o ? [o.metadata!.uid!] : []));
      step.replaced = replaced;
      await save({ replaced });
    }
    await removeOld(context, step, parts);
    const waiting = rebuilt(view, step, parts);
    if (waiting === undefined)
      return {
        state: "done",
        message: `${step.instance} rebuilt`,
        instances: reports(op, step, { ...base, phase: "Succeed" }),
      };
    return {
      state: "running",
      message: `rebuilding ${step.instance}: ${waiting}`,
      instances: reports(op, step, { ...base, phase: "Processing", message: waiting }),
    };
  },
};
