import type { V1StorageClass } from "@kubernetes/client-node";
import type {
  ClusterComponentSpec,
  InstanceTemplate,
  VolumeClaimTemplate,
  VolumeExpansionSpec,
} from "@tessera/api";
import { parseQuantity } from "@tessera/base";
import { names } from "../../naming.js";
import { quotedList } from "../../definitions.js";
import { isDefaultClass } from "../../webhook/placement.js";
import {
  componentSettled,
  componentSpec,
  componentSteps,
  entryFor,
  instanceNames,
  notRunning,
  sectionErrors,
  type ComponentFields,
  writeComponent,
} from "../cluster-spec.js";
import type { InstanceReport, OpsHandler, StepContext, StepOutcome } from "../handler.js";

type Size = { name: string; storage: string | number };

/** Each claim template of the component (and of its instance templates) with the size `sizes` gives it. */
export function grown(spec: ClusterComponentSpec, sizes: Size[]): ComponentFields {
  const grow = (vct: VolumeClaimTemplate): VolumeClaimTemplate => {
    const size = sizes.find((s) => s.name === vct.name);
    const current = vct.spec.resources.requests.storage;
    if (!size || parseQuantity(size.storage) <= parseQuantity(current)) return vct;
    return {
      ...vct,
      spec: { ...vct.spec, resources: { ...vct.spec.resources, requests: { storage: size.storage } } },
    };
  };
  const instances = spec.instances?.map((t): InstanceTemplate =>
    t.volumeClaimTemplates ? { ...t, volumeClaimTemplates: t.volumeClaimTemplates.map(grow) } : t,
  );
  return {
    volumeClaimTemplates: spec.volumeClaimTemplates?.map(grow),
    ...(instances ? { instances } : {}),
  };
}

/** The claim templates named `name` in the component and its instance templates, with their field paths. */
function templatesNamed(spec: ClusterComponentSpec, index: number, name: string) {
  const path = `spec.componentSpecs[${index}]`;
  const found: { vct: VolumeClaimTemplate; path: string }[] = [];
  spec.volumeClaimTemplates?.forEach((vct, j) => {
    if (vct.name === name) found.push({ vct, path: `${path}.volumeClaimTemplates[${j}]` });
  });
  spec.instances?.forEach((t, k) =>
    t.volumeClaimTemplates?.forEach((vct, j) => {
      if (vct.name === name) found.push({ vct, path: `${path}.instances[${k}].volumeClaimTemplates[${j}]` });
    }),
  );
  return found;
}

/** Why volumes of this StorageClass cannot grow, or undefined when they can (or the classes are unknown). */
function classRefusal(
  className: string | undefined,
  classes: V1StorageClass[] | undefined,
): string | undefined {
  if (!classes) return undefined;
  const storageClass = className
    ? classes.find((c) => c.metadata?.name === className)
    : classes.find(isDefaultClass);
  if (!storageClass)
    return className
      ? `StorageClass "${className}" not found`
      : "the claim names no StorageClass and the cluster has no default one";
  if (storageClass.allowVolumeExpansion === true) return undefined;
  return `StorageClass "${storageClass.metadata!.name}" does not allow volume expansion (allowVolumeExpansion: ${storageClass.allowVolumeExpansion ?? "unset"}); its volumes keep their size`;
}

function entryErrors(
  entry: VolumeExpansionSpec,
  path: string,
  spec: ClusterComponentSpec,
  index: number,
  classes: V1StorageClass[] | undefined,
): string[] {
  const errors: string[] = [];
  const known = (spec.volumeClaimTemplates ?? []).map((v) => v.name);
  entry.volumeClaimTemplates.forEach((size, j) => {
    const field = `${path}.volumeClaimTemplates[${j}]`;
    if (!known.includes(size.name)) {
      errors.push(
        `${field}.name: component ${entry.componentName} has no volume claim template "${size.name}"; templates: ${quotedList(known)}`,
      );
      return;
    }
    if (entry.volumeClaimTemplates.findIndex((s) => s.name === size.name) !== j) {
      errors.push(`${field}.name: "${size.name}" is listed twice; list it once`);
      return;
    }
    for (const { vct, path: where } of templatesNamed(spec, index, size.name)) {
      const current = vct.spec.resources.requests.storage;
      if (parseQuantity(size.storage) < parseQuantity(current))
        errors.push(
          `${field}.storage: volumes cannot shrink (${where} is ${current}, asked ${size.storage}); ask ${current} or more`,
        );
      const refusal = classRefusal(vct.spec.storageClassName || undefined, classes);
      if (refusal) errors.push(`${field}: ${refusal}`);
    }
  });
  return [...new Set(errors)];
}

/** Each instance's claim of each named template, and whether its capacity reached the size asked. */
function progress({ view }: StepContext, component: string, sizes: Size[]): InstanceReport[] {
  const spec = componentSpec(view.cluster, component)!;
  const claims = new Map(view.claims(component).map((c) => [c.metadata!.name!, c]));
  return instanceNames(view.cluster.metadata.name!, component, spec).map((instance): InstanceReport => {
    const base = { name: instance, component, action: "Expand" };
    const short = sizes.flatMap((size) => {
      const claim = claims.get(names.pvc(size.name, instance));
      const capacity = claim?.status?.capacity?.storage;
      return capacity !== undefined && parseQuantity(capacity) >= parseQuantity(size.storage)
        ? []
        : [`${names.pvc(size.name, instance)}: ${capacity ?? "no capacity yet"} of ${size.storage}`];
    });
    return short.length
      ? { ...base, phase: "Processing", message: `growing ${short.join(", ")}` }
      : { ...base, phase: "Succeed" };
  });
}

/**
 * VolumeExpansion: each component in turn gets the new sizes in its claim
 * templates (its instance templates' too); the InstanceSet asks each claim
 * for the size and the StorageClass's provisioner grows the volume online, so
 * no instance restarts. Done once every claim's capacity reached its size.
 * Refused at apply time for a StorageClass without allowVolumeExpansion and
 * for a smaller size; not cancellable (a volume never shrinks back).
 */
export const volumeExpansion: OpsHandler = {
  type: "VolumeExpansion",
  cancellable: false,

  validate(op, cluster, _resolved, facts) {
    const entries = op.spec.volumeExpansion;
    if (!entries?.length)
      return [
        "spec.volumeExpansion: list the components and, for each, the volumes to grow with their new size",
      ];
    const errors = sectionErrors(cluster, "volumeExpansion", entries);
    entries.forEach((entry, i) => {
      const index = cluster.spec.componentSpecs.findIndex((c) => c.name === entry.componentName);
      const spec = cluster.spec.componentSpecs[index];
      if (spec)
        errors.push(...entryErrors(entry, `spec.volumeExpansion[${i}]`, spec, index, facts?.storageClasses));
    });
    return errors;
  },

  precondition(op, view) {
    return notRunning(
      view,
      (op.spec.volumeExpansion ?? []).map((e) => e.componentName),
      "expand the volumes of",
    );
  },

  plan(op) {
    return {
      steps: componentSteps("expand", op.spec.volumeExpansion ?? []),
    };
  },

  async execute(step, context): Promise<StepOutcome> {
    const name = step.component!;
    const sizes = entryFor(context.op.spec.volumeExpansion, name)!.volumeClaimTemplates;
    const spec = componentSpec(context.view.cluster, name)!;
    await writeComponent(context.ctx, context.view.cluster, name, grown(spec, sizes));
    const instances = progress(context, name, sizes);
    const done =
      instances.every((i) => i.phase === "Succeed") && componentSettled(context.view, name, "Running");
    return {
      state: done ? "done" : "running",
      message: done ? `volumes of ${name} expanded` : `expanding the volumes of ${name}`,
      instances,
    };
  },
};
