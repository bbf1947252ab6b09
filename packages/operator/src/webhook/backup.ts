import { isDeepStrictEqual } from "node:util";
import type { z } from "zod";
import { API_VERSION, backupSpec, fieldPath, type Backup, type BackupRepo, type Cluster } from "@tessera/api";
import type { KubeClient } from "@tessera/kube";
import { backupTarget, BackupSetupError } from "../backup/backup-controller.js";
import { cronError } from "../backup/schedule.js";
import { DefinitionError, resolveCluster, type DefinitionCatalog } from "../definitions.js";

const find = <T>(client: KubeClient, kind: string, name: string, namespace?: string) =>
  client.find<T & { metadata: { name?: string } }>({
    apiVersion: API_VERSION,
    kind,
    name,
    ...(namespace ? { namespace } : {}),
  });

/**
 * A Cluster's backup settings and restore source: the repository exists, the schedule parses, the
 * engine can archive logs when point-in-time recovery is asked; the backup to restore is a
 * Completed one of this namespace and the moment asked lies in what it can reach. The restore
 * source is fixed at creation.
 */
export async function clusterBackupErrors(
  client: KubeClient,
  catalog: DefinitionCatalog,
  cluster: Cluster,
  old: Cluster | undefined,
): Promise<string[]> {
  const errors: string[] = [];
  const backup = cluster.spec.backup;
  if (backup) {
    if (!backup.repo) {
      errors.push(
        "spec.backup.repo: required: name a BackupRepo (tessera backuprepo list), or give the namespace's Tenant a spec.defaultBackupRepo",
      );
    } else if (!(await find<BackupRepo>(client, "BackupRepo", backup.repo))) {
      errors.push(
        `spec.backup.repo: backup repository "${backup.repo}" does not exist (tessera backuprepo list)`,
      );
    }
    const invalid = backup.schedule ? cronError(backup.schedule) : undefined;
    if (invalid)
      errors.push(`spec.backup.schedule: "${backup.schedule}" is not a cron expression: ${invalid}`);
    try {
      const components = resolveCluster(catalog, cluster).components;
      const methods = components.flatMap((c) => c.compDef.spec.backup?.methods ?? []);
      if (!methods.length) errors.push("spec.backup: the cluster's addon declares no backup method");
      if (backup.method && methods.length && !methods.some((m) => m.name === backup.method)) {
        errors.push(
          `spec.backup.method: no method "${backup.method}"; the addon has ${methods.map((m) => m.name).join(", ")}`,
        );
      }
      if (backup.pointInTime && !components.some((c) => c.compDef.spec.backup?.logArchive)) {
        errors.push(
          "spec.backup.pointInTime: the cluster's addon cannot archive its logs, so it cannot recover to a point in time",
        );
      }
    } catch (error) {
      if (!(error instanceof DefinitionError)) throw error;
    }
  }
  if (old && !isDeepStrictEqual(old.spec.restore, cluster.spec.restore)) {
    errors.push("spec.restore: immutable; it says where the cluster's data came from when it was created");
  }
  const restore = cluster.spec.restore;
  if (restore && !old) {
    const source = await find<Backup>(client, "Backup", restore.backup, cluster.metadata.namespace);
    if (!source) {
      errors.push(
        `spec.restore.backup: backup "${restore.backup}" does not exist in namespace ${cluster.metadata.namespace}`,
      );
    } else if (source.status?.phase !== "Completed") {
      errors.push(
        `spec.restore.backup: backup "${restore.backup}" is ${source.status?.phase ?? "not started"}; only a Completed backup can be restored`,
      );
    } else if (restore.pointInTime) {
      errors.push(...(await pointInTimeErrors(client, source, restore.pointInTime)));
    }
  }
  return errors;
}

async function pointInTimeErrors(client: KubeClient, source: Backup, pointInTime: string): Promise<string[]> {
  const at = Date.parse(pointInTime);
  const status = source.status!;
  if (!status.pointInTime || !status.logsPath) {
    return [
      `spec.restore.pointInTime: backup "${source.metadata.name}" was taken without log archiving (spec.backup.pointInTime), so it restores only to its own end`,
    ];
  }
  if (status.completionTime && at < Date.parse(status.completionTime)) {
    return [
      `spec.restore.pointInTime: ${pointInTime} is before backup "${source.metadata.name}" ended (${status.completionTime}); pick a later time or an older backup`,
    ];
  }
  const cluster = await find<Cluster>(client, "Cluster", source.spec.clusterName, source.metadata.namespace);
  const to =
    cluster?.metadata.uid === status.sourceClusterUID
      ? cluster?.status?.backup?.recoverableRange?.to
      : undefined;
  if (to && at > Date.parse(to)) {
    return [
      `spec.restore.pointInTime: ${pointInTime} is after the latest recoverable moment of cluster ${source.spec.clusterName} (${to}: its last archived log)`,
    ];
  }
  return [];
}

/** A Backup: its cluster, method and repository exist; what it backs up never changes once made. */
export async function backupRefusal(
  client: KubeClient,
  catalog: DefinitionCatalog,
  backup: Backup,
  old: Backup | undefined,
): Promise<string | undefined> {
  const parsed = backupSpec.safeParse(backup.spec);
  if (!parsed.success) {
    return parsed.error.issues
      .map((issue: z.core.$ZodIssue) => `${fieldPath("spec", issue.path)}: ${issue.message}`)
      .join("; ");
  }
  if (old) {
    const fixed = ["clusterName", "componentName", "method", "repo"] as const;
    const changed = fixed.filter((field) => old.spec[field] !== backup.spec[field]);
    return changed.length
      ? changed.map((f) => `spec.${f}: immutable once the backup is created`).join("; ")
      : undefined;
  }
  const namespace = backup.metadata.namespace!;
  const cluster = await find<Cluster>(client, "Cluster", backup.spec.clusterName, namespace);
  if (!cluster)
    return `spec.clusterName: cluster "${backup.spec.clusterName}" does not exist in namespace ${namespace}`;
  const errors: string[] = [];
  try {
    backupTarget(
      catalog,
      cluster,
      backup.spec.componentName,
      backup.spec.method ?? cluster.spec.backup?.method,
    );
  } catch (error) {
    if (error instanceof BackupSetupError)
      errors.push(`spec.${backup.spec.method ? "method" : "clusterName"}: ${error.message}`);
    else if (!(error instanceof DefinitionError)) throw error;
  }
  const repo = backup.spec.repo ?? cluster.spec.backup?.repo;
  if (!repo)
    errors.push(`spec.repo: required, since cluster ${cluster.metadata.name} has no spec.backup.repo`);
  else if (!(await find<BackupRepo>(client, "BackupRepo", repo))) {
    errors.push(`spec.repo: backup repository "${repo}" does not exist (tessera backuprepo list)`);
  }
  return errors.length ? errors.join("; ") : undefined;
}
