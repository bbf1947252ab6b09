import { setTimeout as delay } from "node:timers/promises";
import { API_VERSION, type Cluster } from "@tessera/api";
import { ApiError, type KubeClient } from "@tessera/kube";
import { summarize, type ClusterSummary } from "./views.js";

export interface ClusterChange {
  type: "ADDED" | "MODIFIED" | "DELETED";
  cluster: ClusterSummary;
}

export interface WatchHandlers {
  /** After each list: changes from here on arrive as `change`; what came before must be read anew. */
  synced(): void;
  change(change: ClusterChange): void;
  error(error: unknown): void;
}

/**
 * Follows the clusters the user may list (one namespace, or all) until the
 * signal aborts: a list for the starting version, then watches resumed from
 * the last version seen, a fresh list when the apiserver says it is too old.
 * A refusal (403) ends it: the user may not watch these clusters.
 */
export async function watchClusters(
  client: KubeClient,
  namespace: string | undefined,
  signal: AbortSignal,
  handlers: WatchHandlers,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const path = await client.path(API_VERSION, "Cluster", namespace);
      let version = (await client.list<Cluster>(API_VERSION, "Cluster", { namespace })).metadata
        .resourceVersion;
      handlers.synced();
      let expired = false;
      while (!signal.aborted && !expired) {
        await client.watch<Cluster>(
          path,
          { resourceVersion: version, allowWatchBookmarks: true, timeoutSeconds: 300 },
          (event) => {
            if (event.type === "ERROR") expired = true;
            else version = event.object.metadata?.resourceVersion ?? version;
            if (event.type === "ADDED" || event.type === "MODIFIED" || event.type === "DELETED")
              handlers.change({ type: event.type, cluster: summarize(event.object) });
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
