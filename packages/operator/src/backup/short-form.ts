import {
  API_VERSION,
  MANAGED_BY,
  labels,
  type BackupPolicy,
  type BackupSchedule,
  type Cluster,
} from "@tessera/api";
import { isDeepStrictEqual } from "node:util";
import { isAlreadyExists, isNotFound, type Informer } from "@tessera/kube";
import { ownerReference } from "../component/workload.js";
import type { OperatorContext } from "../context.js";

const isControlledBy = (
  object: { metadata: { ownerReferences?: { uid: string; controller?: boolean }[] } },
  cluster: Cluster,
) => (object.metadata.ownerReferences ?? []).some((o) => o.controller && o.uid === cluster.metadata.uid);

/**
 * The BackupPolicy and BackupSchedule a Cluster's spec.backup stands for, both named after the
 * cluster and owned by it: kept equal to the short form, deleted when it goes. An object of that
 * name the cluster does not own is someone else's and is left alone, with a warning.
 */
export async function keepShortForm(
  ctx: OperatorContext,
  cluster: Cluster,
  policies: Informer<BackupPolicy>,
  schedules: Informer<BackupSchedule>,
): Promise<void> {
  const short = cluster.spec.backup;
  const name = cluster.metadata.name!;
  const metadata = {
    name,
    namespace: cluster.metadata.namespace,
    labels: { [labels.cluster]: name, [labels.managedBy]: MANAGED_BY },
    ownerReferences: [ownerReference(cluster)],
  };
  // Admission names the repository (the tenant's default when unset); a policy needs one.
  const policy: BackupPolicy | undefined = short?.repo
    ? {
        apiVersion: API_VERSION,
        kind: "BackupPolicy",
        metadata,
        spec: {
          clusterName: name,
          repo: short.repo,
          ...(short.method ? { method: short.method } : {}),
          ...(short.encryptionKeySecret ? { encryptionKeySecret: short.encryptionKeySecret } : {}),
          ...(short.compression ? { compression: short.compression } : {}),
          ...(short.retention ? { retention: short.retention } : {}),
        },
      }
    : undefined;
  const schedule: BackupSchedule | undefined = short?.schedule
    ? {
        apiVersion: API_VERSION,
        kind: "BackupSchedule",
        metadata,
        spec: { policy: name, schedule: short.schedule },
      }
    : undefined;
  await keep(ctx, cluster, policies, "BackupPolicy", policy);
  await keep(ctx, cluster, schedules, "BackupSchedule", schedule);
}

async function keep<T extends BackupPolicy | BackupSchedule>(
  ctx: OperatorContext,
  cluster: Cluster,
  cache: Informer<T>,
  kind: T["kind"],
  desired: T | undefined,
): Promise<void> {
  const ref = {
    apiVersion: API_VERSION,
    kind,
    namespace: cluster.metadata.namespace!,
    name: cluster.metadata.name!,
  };
  const existing = cache.get(`${ref.namespace}/${ref.name}`);
  if (existing && !isControlledBy(existing, cluster)) {
    if (desired) {
      await ctx.recorder.record(
        cluster,
        "Warning",
        "BackupSettingsNotApplied",
        `spec.backup: a ${kind} named ${ref.name} exists and is not this cluster's; rename it so the cluster can keep its own`,
      );
    }
    return;
  }
  // Written whole (not server-side applied): Kubernetes 1.20 turns a field an apply drops from a
  // custom object into null, which the schema then refuses.
  if (desired && !existing) {
    try {
      await ctx.client.create(desired);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    return;
  }
  if (desired) {
    if (!isDeepStrictEqual(existing!.spec, desired.spec)) {
      await ctx.client.replace<T>({ ...existing!, spec: desired.spec });
    }
    return;
  }
  if (!existing || existing.metadata.deletionTimestamp) return;
  try {
    await ctx.client.delete(ref);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
