import { isDeepStrictEqual } from "node:util";
import type { KubeClient, KubernetesObject, ObjectRef } from "./client.js";
import { isConflict } from "./errors.js";

/** Runs a read-modify-write function again when the write loses an optimistic-concurrency race. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isConflict(error) || attempt >= attempts) throw error;
    }
  }
}

type WithStatus = KubernetesObject & { status?: unknown };

/**
 * Reads the object, lets `mutate` change its status, and writes the status
 * subresource if anything changed, retrying on conflicts. Returns the
 * stored object (or undefined if the object is gone).
 */
export async function updateStatus<T extends WithStatus>(
  client: KubeClient,
  ref: ObjectRef,
  mutate: (object: T) => void,
): Promise<T | undefined> {
  return retryOnConflict(async () => {
    const current = await client.find<T>(ref);
    if (!current) return undefined;
    const next = structuredClone(current);
    mutate(next);
    if (isDeepStrictEqual(next.status, current.status)) return current;
    return client.replace<T>(next, "status");
  });
}

export function hasFinalizer(object: KubernetesObject, finalizer: string): boolean {
  return object.metadata?.finalizers?.includes(finalizer) ?? false;
}

async function editFinalizers(
  client: KubeClient,
  ref: ObjectRef,
  edit: (finalizers: string[]) => string[],
): Promise<KubernetesObject | undefined> {
  return retryOnConflict(async () => {
    const current = await client.find(ref);
    if (!current) return undefined;
    const before = current.metadata?.finalizers ?? [];
    const after = edit(before);
    if (isDeepStrictEqual(before, after)) return current;
    return client.replace({ ...current, metadata: { ...current.metadata, finalizers: after } });
  });
}

export function addFinalizer(client: KubeClient, ref: ObjectRef, finalizer: string) {
  return editFinalizers(client, ref, (list) => (list.includes(finalizer) ? list : [...list, finalizer]));
}

export function removeFinalizer(client: KubeClient, ref: ObjectRef, finalizer: string) {
  return editFinalizers(client, ref, (list) => list.filter((f) => f !== finalizer));
}

/** The reference of a stored object, for the helpers above. */
export function refOf(object: KubernetesObject): ObjectRef {
  return {
    apiVersion: object.apiVersion!,
    kind: object.kind!,
    name: object.metadata!.name!,
    namespace: object.metadata?.namespace,
  };
}
