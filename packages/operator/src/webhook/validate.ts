import type { z } from "zod";
import { clusterSpec, fieldPath, type Cluster, type ClusterSpec } from "@tessera/api";
import { DefinitionError, resolveCluster, type DefinitionCatalog } from "../definitions.js";
import { parseQuantity } from "../quantity.js";

function schemaErrors(spec: unknown): { errors: string[]; parsed?: ClusterSpec } {
  const result = clusterSpec.safeParse(spec);
  if (result.success) return { errors: [], parsed: result.data };
  return {
    errors: result.error.issues.map(
      (issue: z.core.$ZodIssue) => `${fieldPath("spec", issue.path)}: ${issue.message}`,
    ),
  };
}

function storageOf(spec: ClusterSpec, component: string, claim: string): number | undefined {
  const vct = spec.componentSpecs
    .find((c) => c.name === component)
    ?.volumeClaimTemplates?.find((v) => v.name === claim);
  return parseQuantity(vct?.spec.resources.requests.storage);
}

/**
 * Cross-object validation of a Cluster create or update; each message names
 * the offending field and, where there is a closed set, the allowed values.
 */
export function validateCluster(catalog: DefinitionCatalog, cluster: Cluster, old?: Cluster): string[] {
  const { errors, parsed } = schemaErrors(cluster.spec);
  if (!parsed) return errors;
  const seen = new Set<string>();
  parsed.componentSpecs.forEach((c, i) => {
    if (seen.has(c.name)) errors.push(`spec.componentSpecs[${i}].name: duplicate component "${c.name}"`);
    seen.add(c.name);
    const prefix = `${cluster.metadata.name}-${c.name}-`;
    (c.offlineInstances ?? []).forEach((instance, j) => {
      if (!instance.startsWith(prefix)) {
        errors.push(
          `spec.componentSpecs[${i}].offlineInstances[${j}]: "${instance}" is not an instance of this component (names start with "${prefix}")`,
        );
      }
    });
  });
  try {
    const resolved = resolveCluster(catalog, { spec: parsed });
    for (const component of resolved.components) {
      const limit = component.compDef.spec.replicasLimit;
      const replicas = parsed.componentSpecs[component.specIndex]!.replicas;
      if (limit && (replicas < limit.minReplicas || replicas > limit.maxReplicas)) {
        errors.push(
          `spec.componentSpecs[${component.specIndex}].replicas: ${replicas} is outside ${limit.minReplicas}..${limit.maxReplicas} allowed by ComponentDefinition "${component.compDef.metadata.name}"`,
        );
      }
    }
  } catch (error) {
    if (!(error instanceof DefinitionError)) throw error;
    errors.push(error.message);
  }
  if (old) errors.push(...updateErrors(parsed, old.spec));
  return errors;
}

function updateErrors(spec: ClusterSpec, old: ClusterSpec): string[] {
  const errors: string[] = [];
  if ((spec.clusterDef ?? "") !== (old.clusterDef ?? "")) {
    errors.push(`spec.clusterDef: is immutable (was "${old.clusterDef ?? ""}")`);
  }
  if ((spec.topology ?? "") !== (old.topology ?? "")) {
    errors.push(`spec.topology: is immutable (was "${old.topology ?? ""}")`);
  }
  old.componentSpecs.forEach((oldComponent) => {
    const index = spec.componentSpecs.findIndex((c) => c.name === oldComponent.name);
    if (index < 0) {
      errors.push(`spec.componentSpecs: component "${oldComponent.name}" cannot be removed from a cluster`);
      return;
    }
    for (const vct of oldComponent.volumeClaimTemplates ?? []) {
      const before = storageOf(old, oldComponent.name, vct.name);
      const after = storageOf(spec, oldComponent.name, vct.name);
      if (before !== undefined && after !== undefined && after < before) {
        const j = spec.componentSpecs[index]!.volumeClaimTemplates!.findIndex((v) => v.name === vct.name);
        errors.push(
          `spec.componentSpecs[${index}].volumeClaimTemplates[${j}].spec.resources.requests.storage: volumes cannot shrink (from ${vct.spec.resources.requests.storage} to ${spec.componentSpecs[index]!.volumeClaimTemplates![j]!.spec.resources.requests.storage})`,
        );
      }
    }
  });
  return errors;
}

export function validateClusterDelete(cluster: Cluster): string | undefined {
  if (cluster.spec.terminationPolicy === "DoNotTerminate") {
    return `cluster ${cluster.metadata.name} has spec.terminationPolicy DoNotTerminate; set it to Delete or WipeOut before deleting`;
  }
  return undefined;
}
