import { isDeepStrictEqual } from "node:util";
import {
  API_VERSION,
  names,
  type Cluster,
  type OpsStep,
  type ClusterComponentSpec,
  type ComponentConfiguration,
} from "@tessera/api";
import { ApiError } from "@tessera/kube";
import type { OperatorContext } from "../context.js";
import { quotedList } from "../definitions.js";
import { desiredInstances } from "../instanceset/plan.js";
import type { ClusterView } from "./handler.js";

// What operations read from and write to a Cluster's componentSpecs. Every
// change goes through the apiserver like a user's edit, so the Cluster webhook
// checks it and the Cluster controller rolls it out.

export function componentSpec(cluster: Cluster, name: string): ClusterComponentSpec | undefined {
  return cluster.spec.componentSpecs.find((c) => c.name === name);
}

/** The components a section lists, or every component of the cluster when it lists none. */
export function targetComponents(
  cluster: Cluster,
  section: { componentName: string }[] | undefined,
): string[] {
  return section?.length
    ? section.map((s) => s.componentName)
    : cluster.spec.componentSpecs.map((c) => c.name);
}

/** `spec.<section>[i].componentName` errors: components the cluster lacks, or listed twice. */
export function sectionErrors(
  cluster: Cluster,
  section: string,
  entries: { componentName: string }[] | undefined,
): string[] {
  const known = cluster.spec.componentSpecs.map((c) => c.name);
  return (entries ?? []).flatMap((entry, i) => {
    const field = `spec.${section}[${i}].componentName`;
    if (!known.includes(entry.componentName))
      return [
        `${field}: cluster ${cluster.metadata.name} has no component "${entry.componentName}"; components: ${quotedList(known)}`,
      ];
    if (entries!.findIndex((e) => e.componentName === entry.componentName) !== i)
      return [`${field}: component "${entry.componentName}" is listed twice; list it once`];
    return [];
  });
}

/** The instance (pod) names a component spec asks for, as the InstanceSet names them. */
export function instanceNames(
  cluster: string,
  component: string,
  spec: Pick<ClusterComponentSpec, "replicas" | "instances" | "offlineInstances">,
): string[] {
  const set = names.instanceSet(names.component(cluster, component));
  return desiredInstances(set, { ...spec, replicas: spec.replicas ?? 1 }).map((d) => d.name);
}

/** The fields of a component an operation may change, as they are now. */
export function configurationOf(spec: ClusterComponentSpec): ComponentConfiguration {
  return {
    replicas: spec.replicas,
    ...(spec.offlineInstances ? { offlineInstances: spec.offlineInstances } : {}),
    ...(spec.resources ? { resources: spec.resources } : {}),
    ...(spec.stop !== undefined ? { stop: spec.stop } : {}),
    ...(spec.serviceVersion ? { serviceVersion: spec.serviceVersion } : {}),
    ...(spec.componentDef ? { componentDef: spec.componentDef } : {}),
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
  };
}

/** Whether the component's spec holds every field of `wanted` (an unset field counts as its default). */
export function holds(spec: ClusterComponentSpec | undefined, wanted: ComponentConfiguration): boolean {
  if (!spec) return false;
  const current = configurationOf(spec);
  return (Object.keys(wanted) as (keyof ComponentConfiguration)[]).every((field) =>
    isDeepStrictEqual(normalise(field, current[field]), normalise(field, wanted[field])),
  );
}

function normalise(field: keyof ComponentConfiguration, value: unknown): unknown {
  if (field === "stop") return value ?? false;
  if (field === "offlineInstances") return value ?? [];
  if (field === "parameters") return value ?? {};
  return value;
}

/** Fields of a component's spec an operation writes. */
export type ComponentFields = Partial<Omit<ClusterComponentSpec, "name">>;

function holdsExactly(spec: ClusterComponentSpec | undefined, fields: ComponentFields): boolean {
  return (
    spec !== undefined &&
    (Object.entries(fields) as [keyof ComponentFields, unknown][]).every(([field, value]) =>
      isDeepStrictEqual(spec[field], value),
    )
  );
}

/**
 * Once an operation wrote its change, the component's spec must keep it: a
 * later edit by someone else means the operation's goal is gone, so it fails
 * rather than fight the edit. Returns why, or undefined when the change holds.
 * The cache may not show the operation's own write yet: the cluster is read
 * afresh before it counts as changed.
 */
export async function overwritten(
  ctx: OperatorContext,
  cluster: Cluster,
  component: string,
  wanted: ComponentConfiguration,
): Promise<string | undefined> {
  if (holds(componentSpec(cluster, component), wanted)) return undefined;
  const fresh = await ctx.client.find<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: cluster.metadata.namespace,
    name: cluster.metadata.name!,
  });
  const spec = fresh && componentSpec(fresh, component);
  if (holds(spec, wanted)) return undefined;
  const fields = Object.keys(wanted).join(", ");
  return `${fields} of component ${component} changed on the Cluster while the operation ran (now ${JSON.stringify(spec ? configurationOf(spec) : {})}, wanted ${JSON.stringify(wanted)}); create a new OpsRequest for what you want now`;
}

/** Why a write of the cluster failed, in the apiserver's (or the Cluster webhook's) words. */
export class ClusterWriteRefused extends Error {}

/**
 * Writes fields of one component's spec with a JSON patch that first tests
 * the component's name at its index, so a reordered list is never written at
 * the wrong place. Fields already as wanted (in the cached cluster, else on the
 * apiserver) are left alone; an undefined value removes the field. A refusal (webhook or schema) becomes ClusterWriteRefused.
 */
export async function writeComponent(
  ctx: OperatorContext,
  cluster: Cluster,
  component: string,
  fields: ComponentFields,
): Promise<boolean> {
  if (holdsExactly(componentSpec(cluster, component), fields)) return false;
  const ref = {
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: cluster.metadata.namespace,
    name: cluster.metadata.name!,
  };
  const fresh = await ctx.client.get<Cluster>(ref);
  const index = fresh.spec.componentSpecs.findIndex((c) => c.name === component);
  const spec = fresh.spec.componentSpecs[index];
  if (!spec) throw new ClusterWriteRefused(`cluster ${ref.name} has no component "${component}" any more`);
  const path = `/spec/componentSpecs/${index}`;
  const operations: object[] = [];
  for (const [field, value] of Object.entries(fields) as [keyof ComponentFields, unknown][]) {
    if (isDeepStrictEqual(spec[field], value)) continue;
    if (value === undefined) operations.push({ op: "remove", path: `${path}/${field}` });
    else operations.push({ op: "add", path: `${path}/${field}`, value });
  }
  if (operations.length === 0) return false;
  try {
    await ctx.client.patch(
      ref,
      [{ op: "test", path: `${path}/name`, value: component }, ...operations],
      "json",
    );
  } catch (error) {
    if (error instanceof ApiError && (error.statusCode === 403 || error.statusCode === 422)) {
      throw new ClusterWriteRefused(`the cluster refused the change: ${error.message}`);
    }
    throw error;
  }
  return true;
}

/**
 * Whether a component has rolled out the current spec of its cluster and
 * reports `phase` for it: the Component holds the cluster's spec and its
 * status is of its latest generation.
 */
export function componentSettled(view: ClusterView, name: string, phase: "Running" | "Stopped"): boolean {
  const component = view.component(name);
  const spec = componentSpec(view.cluster, name);
  if (!component || !spec) return false;
  const current =
    component.status?.observedGeneration === component.metadata.generation &&
    component.spec.replicas === spec.replicas &&
    isDeepStrictEqual(component.spec.offlineInstances ?? [], spec.offlineInstances ?? []) &&
    isDeepStrictEqual(component.spec.resources, spec.resources) &&
    (component.spec.stop ?? false) === (spec.stop ?? false) &&
    isDeepStrictEqual(component.spec.parameters ?? {}, spec.parameters ?? {});
  return current && component.status?.phase === phase;
}

/** The component's phase as a precondition reads it: only a status of its latest generation counts. */
export function componentPhase(view: ClusterView, name: string): string {
  const component = view.component(name);
  if (!component?.status?.phase) return "not created yet";
  if (component.status.observedGeneration !== component.metadata.generation) return "Updating";
  return component.status.phase;
}

/** Why the components cannot change now (each must be Running or Abnormal), or undefined. */
export function notRunning(view: ClusterView, components: string[], verb: string): string | undefined {
  for (const name of components) {
    const phase = componentPhase(view, name);
    if (phase !== "Running" && phase !== "Abnormal")
      return `component ${name} is ${phase}; ${verb} it once it is Running`;
  }
  return undefined;
}

/** A not-ready instance's reason and message, as its InstanceSet reports them. */
export function instanceIssue(view: ClusterView, component: string, instance: string): string | undefined {
  const entry = view.instanceSet(component)?.status?.instances?.find((i) => i.name === instance);
  if (!entry?.reason) return undefined;
  return entry.message ? `${entry.reason}: ${entry.message}` : entry.reason;
}

/** The section entry of an operation for a component (HorizontalScaling, VerticalScaling, Switchover). */
export function entryFor<T extends { componentName: string }>(
  entries: T[] | undefined,
  component: string,
): T | undefined {
  return entries?.find((e) => e.componentName === component);
}

/** One pending step per component entry, named after what the operation does to it. */
export function componentSteps(verb: string, entries: readonly { componentName: string }[]): OpsStep[] {
  return entries.map((entry) => ({
    name: `${verb} ${entry.componentName}`,
    component: entry.componentName,
    phase: "Pending",
  }));
}
