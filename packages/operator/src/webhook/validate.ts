import type { z } from "zod";
import { clusterSpec, fieldPath, type Cluster, type ClusterSpec } from "@tessera/api";
import { DefinitionError, resolveCluster, type DefinitionCatalog } from "../definitions.js";
import { parameterErrors } from "../parameters.js";
import { resourceErrors, templateClaimErrors } from "./resources.js";
import { updateErrors } from "./update.js";

function schemaErrors(spec: unknown): { errors: string[]; parsed?: ClusterSpec } {
  const result = clusterSpec.safeParse(spec);
  if (result.success) return { errors: [], parsed: result.data };
  return {
    errors: result.error.issues.map(
      (issue: z.core.$ZodIssue) => `${fieldPath("spec", issue.path)}: ${issue.message}`,
    ),
  };
}

/**
 * The parameters set or changed by an update (all of them on a create): one
 * admitted before, perhaps under an older definition, is not refused again.
 */
function changedParameters(
  parameters: Record<string, string> | undefined,
  before: Record<string, string> | undefined,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(parameters ?? {}).filter(([key, value]) => before?.[key] !== value),
  );
}

/**
 * Validation of a Cluster create or update against its schema and the
 * installed definitions (no other cluster state, so the CLI runs it too);
 * each message names the offending field and the fix, with the allowed
 * values where there is a closed set.
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
  errors.push(...resourceErrors(parsed), ...templateClaimErrors(parsed));
  try {
    const resolved = resolveCluster(catalog, { spec: parsed });
    for (const component of resolved.components) {
      const limit = component.compDef.spec.replicasLimit;
      const { name, replicas, parameters } = parsed.componentSpecs[component.specIndex]!;
      errors.push(
        ...parameterErrors(
          component.compDef,
          changedParameters(parameters, old?.spec.componentSpecs.find((c) => c.name === name)?.parameters),
          `spec.componentSpecs[${component.specIndex}].parameters`,
        ),
      );
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

export function validateClusterDelete(cluster: Cluster): string | undefined {
  if (cluster.spec.terminationPolicy === "DoNotTerminate") {
    return `cluster ${cluster.metadata.name} has spec.terminationPolicy DoNotTerminate; set it to Delete or WipeOut before deleting`;
  }
  return undefined;
}
