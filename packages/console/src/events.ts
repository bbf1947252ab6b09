import { setTimeout as delay } from "node:timers/promises";
import { API_VERSION } from "@tessera/api";
import { ApiError, type KubeClient, type KubernetesObject } from "@tessera/kube";
export interface WatchHandlers<T> {
  /** After each list: changes from here on arrive as `change`; what came before must be read anew. */
  synced(): void;
  change(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void;
  error(error: unknown): void;
}

/**
 * Follows the objects of a tessera.dev kind the user may list (one
 * namespace, or all) until the signal aborts: a list for the starting
 * version, then watches resumed from the last version seen, a fresh list
 * when the apiserver says it is too old. A refusal (401, 403) ends it: the
 * user may not watch these objects.
 */
export async function watchKind<T extends KubernetesObject>(
  client: KubeClient,
  kind: string,
  namespace: string | undefined,
  signal: AbortSignal,
  handlers: WatchHandlers<T>,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const path = await client.path(API_VERSION, kind, namespace);
      let version = (await client.list<T>(API_VERSION, kind, { namespace })).metadata.resourceVersion;
      handlers.synced();
      let expired = false;
      while (!signal.aborted && !expired) {
        await client.watch<T>(
          path,
          { resourceVersion: version, allowWatchBookmarks: true, timeoutSeconds: 300 },
          (event) => {
            if (event.type === "ERROR") expired = true;
            else version = event.object.metadata?.resourceVersion ?? version;
            if (event.type === "ADDED" || event.type === "MODIFIED" || event.type === "DELETED")
              handlers.change(event.type, event.object);
          },
          { signal, idleTimeoutMs: 330_000 },
        );
      }
    } catch (error) {
      if (signal.aborted) return;
      handlers.error(error);
      if (error instanceof ApiError && (error.statusCode === 401 || error.statusCode === 403)) return;
      await delay(1000, undefined, { signal }).catch(() => undefined);
    }
  }
}
