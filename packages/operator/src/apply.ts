import { FIELD_MANAGER, annotations } from "@tessera/api";
import { objectKey, type Informer, type KubeClient, type KubernetesObject } from "@tessera/kube";
import { stableHash } from "./hash.js";

/**
 * Server-side apply of `desired`, unless the informer's copy of the object shows
 * the apply would change nothing. The desired object carries a hash of itself
 * in an annotation, so a cached object holding every desired field, that hash
 * included, was last applied with exactly this intent (no field to prune) and
 * none of those fields changed since. Reconciles run on every status change of
 * what they own; skipping their no-op applies spares the API server most of
 * its work while a cluster is being created.
 */
export async function applyUnlessCurrent<T extends KubernetesObject>(
  client: KubeClient,
  cache: Pick<Informer<T>, "get">,
  desired: T,
): Promise<T> {
  const stamped: T = {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata?.annotations, [annotations.appliedHash]: stableHash(desired) },
    },
  };
  const cached = cache.get(objectKey(desired));
  if (cached && contains(cached, stamped)) return cached;
  return client.apply(stamped, FIELD_MANAGER);
}

/** Whether every field set in `wanted` has the same value in `actual` (lists element by element). */
export function contains(actual: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(actual) &&
      actual.length === wanted.length &&
      wanted.every((w, i) => contains(actual[i], w))
    );
  }
  if (wanted !== null && typeof wanted === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
    const fields = actual as Record<string, unknown>;
    return Object.entries(wanted).every(
      ([key, value]) => value === undefined || contains(fields[key], value),
    );
  }
  return actual === wanted;
}
