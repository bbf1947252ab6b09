import type { Backup, Cluster, ComponentLogArchive, ComponentRestore } from "@tessera/api";
import type { Informer } from "@tessera/kube";
import type { ResolvedComponent } from "../definitions.js";
import { clusterRepoPath } from "./backup-controller.js";

/** The backup a Cluster's spec.restore names is not there, or not usable. */
export class RestoreSourceError extends Error {
  override name = "RestoreSourceError";
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where a component of a restored cluster gets its data, read from the Backup once: the first
 * Component written keeps it, so deleting the Backup later changes nothing for the cluster.
 */
export function restoreSource(
  cluster: Cluster,
  component: ResolvedComponent,
  backups: Informer<Backup>,
): ComponentRestore | undefined {
  const wanted = cluster.spec.restore;
  if (!wanted) return undefined;
  const backup = backups.get(`${cluster.metadata.namespace}/${wanted.backup}`);
  if (!backup) {
    throw new RestoreSourceError(
      "BackupNotFound",
      `backup ${wanted.backup} does not exist in ${cluster.metadata.namespace}`,
    );
  }
  const status = backup.status;
  if (status?.phase !== "Completed" || !status.path || !status.repo || !status.method) {
    throw new RestoreSourceError(
      "BackupNotCompleted",
      `backup ${wanted.backup} is ${status?.phase ?? "not started"}, not Completed`,
    );
  }
  if (status.component !== component.name) return undefined;
  return {
    backup: wanted.backup,
    method: status.method,
    repo: status.repo,
    path: status.path,
    ...(status.sha256 ? { sha256: status.sha256 } : {}),
    ...(wanted.pointInTime && status.logsPath
      ? {
          logsPath: status.logsPath,
          pointInTime: wanted.pointInTime,
          ...(status.startTime ? { logsFrom: status.startTime } : {}),
        }
      : {}),
    ...(status.encryptionKeySecret ? { encryptionKeySecret: status.encryptionKeySecret } : {}),
    ...(status.compression ? { compression: status.compression } : {}),
  };
}

/** Where a component archives its logs, when the cluster asks for point-in-time recovery and the addon can. */
export function logArchiveTarget(
  cluster: Cluster,
  component: ResolvedComponent,
): ComponentLogArchive | undefined {
  const backup = cluster.spec.backup;
  // Admission names the repository (the tenant's default when unset); without one nothing is archived.
  if (!backup?.pointInTime || !backup.repo || !component.compDef.spec.backup?.logArchive) return undefined;
  return {
    repo: backup.repo,
    path: `${clusterRepoPath(cluster)}/logs/${component.name}`,
    ...(backup.encryptionKeySecret ? { encryptionKeySecret: backup.encryptionKeySecret } : {}),
  };
}
