import { isDeepStrictEqual } from "node:util";
import type { z } from "zod";
import {
  API_VERSION,
  backupPolicySpec,
  backupScheduleSpec,
  backupSpec,
  fieldPath,
  type Backup,
  type BackupPolicy,
  type BackupRepo,
  type BackupSchedule,
  type Cluster,
} from "@tessera/api";
import type { KubeClient } from "@tessera/kube";
import { backupTarget, BackupSetupError } from "../backup/backup-controller.js";
import { cronError } from "../backup/schedule.js";
import { backupSettings, type BackupSettings } from "../backup/settings.js";
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

/** The spec's shape, as field errors. */
function shapeErrors(schema: z.ZodType, spec: unknown): string[] {
  const parsed = schema.safeParse(spec);
  return parsed.success
    ? []
    : parsed.error.issues.map(
        (issue: z.core.$ZodIssue) => `${fieldPath("spec", issue.path)}: ${issue.message}`,
      );
}

/** Fields that say what a backup or policy is about, which never change once made. */
function immutableErrors<T extends object>(
  old: T | undefined,
  spec: T,
  fields: (keyof T & string)[],
): string[] {
  if (!old) return [];
  return fields
    .filter((field) => !isDeepStrictEqual(old[field], spec[field]))
    .map((field) => `spec.${field}: immutable once created`);
}

/** The component and method exist in the cluster's addon (unknown definitions are the cluster's own refusal). */
function methodErrors(
  catalog: DefinitionCatalog,
  cluster: Cluster,
  settings: Pick<BackupSettings, "componentName" | "method">,
  field: string,
): string[] {
  try {
    backupTarget(catalog, cluster, settings.componentName, settings.method);
    return [];
  } catch (error) {
    if (error instanceof BackupSetupError) return [`${field}: ${error.message}`];
    if (error instanceof DefinitionError) return [];
    throw error;
  }
}

/** The component and method exist in the cluster's addon; the repository exists. */
async function settingsErrors(
  client: KubeClient,
  catalog: DefinitionCatalog,
  cluster: Cluster,
  settings: BackupSettings,
  field: { method: string; repo: string },
): Promise<string[]> {
  const errors = methodErrors(catalog, cluster, settings, field.method);
  if (!settings.repo) {
    errors.push(`${field.repo}: required, since cluster ${cluster.metadata.name} has no spec.backup.repo`);
  } else if (!(await find<BackupRepo>(client, "BackupRepo", settings.repo))) {
    errors.push(
      `${field.repo}: backup repository "${settings.repo}" does not exist (tessera backuprepo list)`,
    );
  }
  return errors;
}

const joined = (errors: string[]) => (errors.length ? errors.join("; ") : undefined);

/** A Backup: its cluster, policy, method and repository exist; what it backs up never changes once made. */
export async function backupRefusal(
  client: KubeClient,
  catalog: DefinitionCatalog,
  backup: Backup,
  old: Backup | undefined,
): Promise<string | undefined> {
  const shape = shapeErrors(backupSpec, backup.spec);
  if (shape.length) return joined(shape);
  if (old) {
    return joined(
      immutableErrors(old.spec, backup.spec, ["clusterName", "componentName", "method", "repo", "policy"]),
    );
  }
  const namespace = backup.metadata.namespace!;
  const cluster = await find<Cluster>(client, "Cluster", backup.spec.clusterName, namespace);
  if (!cluster)
    return `spec.clusterName: cluster "${backup.spec.clusterName}" does not exist in namespace ${namespace}`;
  let policy: BackupPolicy | undefined;
  if (backup.spec.policy) {
    policy = await find<BackupPolicy>(client, "BackupPolicy", backup.spec.policy, namespace);
    if (!policy)
      return `spec.policy: backup policy "${backup.spec.policy}" does not exist in namespace ${namespace}`;
    if (policy.spec.clusterName !== backup.spec.clusterName) {
      return `spec.policy: backup policy "${backup.spec.policy}" is of cluster ${policy.spec.clusterName}, not ${backup.spec.clusterName}`;
    }
  }
  const settings = backupSettings(backup, policy, cluster);
  return joined(
    await settingsErrors(client, catalog, cluster, settings, {
      method: `spec.${backup.spec.method ? "method" : policy ? "policy" : "clusterName"}`,
      repo: "spec.repo",
    }),
  );
}

/** A BackupPolicy: its cluster exists, and the component, method and repository it names. */
export async function backupPolicyRefusal(
  client: KubeClient,
  catalog: DefinitionCatalog,
  policy: BackupPolicy,
  old: BackupPolicy | undefined,
): Promise<string | undefined> {
  const shape = shapeErrors(backupPolicySpec, policy.spec);
  if (shape.length) return joined(shape);
  const errors = immutableErrors(old?.spec, policy.spec, ["clusterName"]);
  const namespace = policy.metadata.namespace!;
  const cluster = await find<Cluster>(client, "Cluster", policy.spec.clusterName, namespace);
  if (!cluster) {
    // A policy may outlive its cluster; it can only be made for one that exists.
    if (!old)
      errors.push(
        `spec.clusterName: cluster "${policy.spec.clusterName}" does not exist in namespace ${namespace}`,
      );
    return joined(errors);
  }
  errors.push(
    ...(await settingsErrors(client, catalog, cluster, policy.spec, {
      method: "spec.method",
      repo: "spec.repo",
    })),
  );
  return joined(errors);
}

/** A BackupSchedule: the cron expression parses; its policy exists and has the method it names. */
export async function backupScheduleRefusal(
  client: KubeClient,
  catalog: DefinitionCatalog,
  schedule: BackupSchedule,
  old: BackupSchedule | undefined,
): Promise<string | undefined> {
  const shape = shapeErrors(backupScheduleSpec, schedule.spec);
  if (shape.length) return joined(shape);
  const errors: string[] = [];
  const invalid = cronError(schedule.spec.schedule);
  if (invalid) errors.push(`spec.schedule: "${schedule.spec.schedule}" is not a cron expression: ${invalid}`);
  const namespace = schedule.metadata.namespace!;
  const policy = await find<BackupPolicy>(client, "BackupPolicy", schedule.spec.policy, namespace);
  if (!policy) {
    if (!old)
      errors.push(
        `spec.policy: backup policy "${schedule.spec.policy}" does not exist in namespace ${namespace}`,
      );
    return joined(errors);
  }
  const cluster = await find<Cluster>(client, "Cluster", policy.spec.clusterName, namespace);
  if (cluster && schedule.spec.method) {
    const settings = { componentName: policy.spec.componentName, method: schedule.spec.method };
    errors.push(...methodErrors(catalog, cluster, settings, "spec.method"));
  }
  return joined(errors);
}
