import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { API_VERSION, annotations, dnsLabel, labels, type Cluster, type ClusterPhase } from "@tessera/api";
import { ApiError, StopWaiting, WaitTimeoutError, waitFor, type KubeClient } from "@tessera/kube";
import { UsageError } from "../errors.js";
import { notInstalled } from "../not-installed.js";
import { duration } from "../output.js";
import type { KubeConnection } from "../session.js";
import type { Spinner } from "../spinner.js";

/** Refuses a cluster name the API would refuse, before asking it. */
export function checkClusterName(name: string): void {
  if (!dnsLabel.safeParse(name).success) {
    throw new UsageError(
      `cluster name "${name}" must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
}

export function clusterRef(namespace: string, name: string) {
  return { apiVersion: API_VERSION, kind: "Cluster", namespace, name };
}

/** Label selector for everything the operator made for one cluster. */
export function clusterSelector(name: string): string {
  return `${labels.cluster}=${name}`;
}

export async function findCluster(conn: KubeConnection, namespace: string, name: string): Promise<Cluster> {
  const cluster = await conn.client.find<Cluster>(clusterRef(namespace, name)).catch((error: unknown) => {
    if (error instanceof ApiError && error.statusCode === 404) throw notInstalled(conn.server);
    throw error;
  });
  if (!cluster) {
    throw new Error(
      `cluster "${name}" not found in namespace ${namespace}; list clusters with \`tessera cluster list -A\``,
    );
  }
  return cluster;
}

export function phaseHealth(phase: ClusterPhase | undefined): "good" | "bad" | "pending" {
  if (phase === "Running") return "good";
  return phase === "Failed" || phase === "Abnormal" ? "bad" : "pending";
}

function describeState(cluster: Cluster): string {
  const phase = cluster.status?.phase ?? "Pending";
  return cluster.status?.message ? `${phase}: ${cluster.status.message}` : phase;
}

/** Waits until the cluster is Running at its current generation, showing its phase on the spinner. */
export async function waitUntilRunning(
  client: KubeClient,
  namespace: string,
  name: string,
  timeoutMs: number,
  spinner: Spinner,
): Promise<Cluster> {
  let last = "Pending";
  try {
    return await waitFor(
      async () => {
        const cluster = await client.find<Cluster>(clusterRef(namespace, name));
        if (!cluster)
          throw new StopWaiting(new Error(`cluster ${namespace}/${name} was deleted while waiting`));
        last = describeState(cluster);
        spinner.detail = last;
        const current = cluster.status?.observedGeneration === cluster.metadata.generation;
        return current && cluster.status?.phase === "Running" ? cluster : undefined;
      },
      { description: `cluster ${namespace}/${name} to be Running`, timeoutMs, intervalMs: 1000 },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw new Error(
      `cluster ${namespace}/${name} is not Running after ${duration(timeoutMs)} (${last}); see \`tessera cluster describe ${name} -n ${namespace}\``,
    );
  }
}

/**
 * Waits until the cluster object is gone (its finalizers ran) and, when its
 * termination policy deletes volumes, until no volume claim recording it is
 * left, showing progress on the spinner.
 */
export async function waitUntilGone(
  client: KubeClient,
  cluster: Cluster,
  timeoutMs: number,
  spinner: Spinner,
): Promise<void> {
  const { namespace, name, uid } = cluster.metadata as { namespace: string; name: string; uid: string };
  const volumesGo = cluster.spec.terminationPolicy !== "DoNotTerminate";
  let last = "Deleting";
  try {
    await waitFor(
      async () => {
        const current = await client.find<Cluster>(clusterRef(namespace, name));
        if (current?.metadata.uid === uid) {
          spinner.detail = last = describeState(current);
          return false;
        }
        if (!volumesGo) return true;
        const claims = await client.listAll<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
          namespace,
          labelSelector: clusterSelector(name),
        });
        const left = claims.items.filter(
          (claim) => claim.metadata?.annotations?.[annotations.clusterUID] === uid,
        );
        spinner.detail = last = `${left.length} volume claim(s) left to delete`;
        return left.length === 0;
      },
      { description: `cluster ${namespace}/${name} to be deleted`, timeoutMs, intervalMs: 1000 },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw new Error(
      `cluster ${namespace}/${name} is still being deleted after ${duration(timeoutMs)} (${last}); see \`tessera cluster describe ${name} -n ${namespace}\``,
    );
  }
}
