import { isDeepStrictEqual } from "node:util";
import type { z } from "zod";
import {
  fieldPath,
  opsRequestSpec,
  type Cluster,
  type OpsRequest,
  type OpsRequestSpec,
  type OpsType,
} from "@tessera/api";
import { DefinitionError, resolveCluster, type DefinitionCatalog } from "../definitions.js";
import type { ValidationFacts } from "./handler.js";
import { handlers } from "./handlers/index.js";
import { phaseOf } from "./queue.js";

/** The section of the spec each type reads. */
export const SECTIONS: Record<OpsType, keyof OpsRequestSpec> = {
  Restart: "restart",
  Stop: "stop",
  Start: "start",
  HorizontalScaling: "horizontalScaling",
  VerticalScaling: "verticalScaling",
  Switchover: "switchover",
  Custom: "custom",
  Upgrade: "upgrade",
  RebuildInstance: "rebuildInstance",
  VolumeExpansion: "volumeExpansion",
  Expose: "expose",
  Reconfiguring: "reconfiguring",
  Backup: "backup",
  Restore: "restore",
};

/** Validation without the cluster's running state: what depends on it is left to the runner's own check. */
const NO_FACTS: ValidationFacts = { component: () => undefined };

/** What may change on an existing OpsRequest: cancelling it and how long it is kept. */
const MUTABLE: (keyof OpsRequestSpec)[] = [
  "cancel",
  "ttlSecondsAfterSucceed",
  "ttlSecondsAfterUnsuccessfulCompletion",
];

function updateErrors(spec: OpsRequestSpec, old: OpsRequest): string[] {
  if (spec.type !== old.spec.type)
    return [`spec.type: is immutable (was "${old.spec.type}"); create a new OpsRequest of type ${spec.type}`];
  const errors: string[] = [];
  const fields = new Set([...Object.keys(spec), ...Object.keys(old.spec)] as (keyof OpsRequestSpec)[]);
  for (const field of fields) {
    if (MUTABLE.includes(field) || isDeepStrictEqual(spec[field], old.spec[field])) continue;
    errors.push(
      `spec.${field}: cannot change once the OpsRequest exists (only cancel and the TTLs can); cancel it (spec.cancel: true) and create a new one`,
    );
  }
  const phase = phaseOf(old);
  if (
    spec.cancel &&
    !old.spec.cancel &&
    (phase === "Running" || phase === "Cancelling") &&
    !handlers[spec.type].cancellable
  )
    errors.push(
      `spec.cancel: a Running ${spec.type} cannot be cancelled (it would leave the cluster half done); wait for it to end, or set spec.timeoutSeconds on the next one`,
    );
  return errors;
}

/**
 * Checks an OpsRequest against its schema, its type and the cluster it
 * names (or, on update, against what may change); every message names the
 * field and the fix. The webhook runs it at apply time, and the runner again
 * before the operation starts, as the cluster may have changed since.
 */
export function validateOpsRequest(
  catalog: DefinitionCatalog,
  op: OpsRequest,
  cluster: Cluster | undefined,
  old?: OpsRequest,
  facts: ValidationFacts = NO_FACTS,
): string[] {
  const parsed = opsRequestSpec.safeParse(op.spec);
  if (!parsed.success)
    return parsed.error.issues.map(
      (issue: z.core.$ZodIssue) => `${fieldPath("spec", issue.path)}: ${issue.message}`,
    );
  const spec = parsed.data;
  if (old) return updateErrors(spec, old);
  const errors = (Object.entries(SECTIONS) as [OpsType, keyof OpsRequestSpec][])
    .filter(([type, section]) => type !== spec.type && spec[section] !== undefined)
    .map(
      ([type, section]) =>
        `spec.${section}: is for type ${type}; this OpsRequest is a ${spec.type}, fill in spec.${SECTIONS[spec.type]}`,
    );
  if (!cluster) {
    return [
      ...errors,
      `spec.clusterName: cluster "${spec.clusterName}" not found in namespace ${op.metadata.namespace}; name an existing Cluster`,
    ];
  }
  if (cluster.metadata.deletionTimestamp)
    return [...errors, `spec.clusterName: cluster "${spec.clusterName}" is being deleted`];
  try {
    const resolved = resolveCluster(catalog, cluster);
    errors.push(...handlers[spec.type].validate({ ...op, spec }, cluster, resolved, { ...facts, catalog }));
  } catch (error) {
    if (!(error instanceof DefinitionError)) throw error;
    errors.push(`spec.clusterName: cluster "${spec.clusterName}" cannot be resolved: ${error.message}`);
  }
  return errors;
}
