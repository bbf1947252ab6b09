import type { V1Pod } from "@kubernetes/client-node";
import {
  API_VERSION,
  labels,
  type Backup,
  type BackupPolicy,
  type BackupSchedule,
  type Cluster,
} from "@tessera/api";
import {
  Controller,
  retryOnConflict,
  updateStatus,
  type Informer,
  type ReconcileResult,
} from "@tessera/kube";
import type { ArchiveStatus } from "@tessera/repo-tool";
import { setCondition } from "../conditions.js";
import type { OperatorContext } from "../context.js";
import { ARCHIVER_PORT } from "./instance-pods.js";
import { logArchiveFailing, logArchiveLast, logArchivePending } from "./metrics.js";
import { keepShortForm } from "./short-form.js";

/** How often the log archivers are asked how they are doing. */
const ARCHIVE_POLL_MS = 15_000;
/** Files waiting in the outbox beyond this count as falling behind. */
const ARCHIVE_BEHIND_FILES = 8;

/**
 * Per cluster: keeps the BackupPolicy and BackupSchedule its spec.backup stands for, asks the log
 * archivers how they are doing, and reports the cluster's backups, scheduled runs, recoverable
 * range and the LastBackupSucceeded and LogArchiving conditions.
 */
export class ClusterBackupController {
  readonly controller: Controller;
  private readonly clusters: Informer<Cluster>;
  private readonly backups: Informer<Backup>;
  private readonly policies: Informer<BackupPolicy>;
  private readonly schedules: Informer<BackupSchedule>;
  private readonly pods: Informer<V1Pod>;

  constructor(private readonly ctx: OperatorContext) {
    this.clusters = ctx.informers.get<Cluster>(API_VERSION, "Cluster");
    this.backups = ctx.informers.get<Backup>(API_VERSION, "Backup");
    this.policies = ctx.informers.get<BackupPolicy>(API_VERSION, "BackupPolicy");
    this.schedules = ctx.informers.get<BackupSchedule>(API_VERSION, "BackupSchedule");
    this.pods = ctx.informers.get<V1Pod>("v1", "Pod", { labelSelector: `${labels.managedBy}=tessera` });
    this.controller = new Controller({
      name: "cluster-backup",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 2,
      logger: ctx.logger,
    })
      .watches(this.clusters)
      .watchesMapped(this.backups, (b) => [`${b.metadata.namespace}/${b.spec.clusterName}`])
      .watchesMapped(this.policies, (p) => [`${p.metadata.namespace}/${p.spec.clusterName}`])
      .watchesMapped(this.schedules, (s) =>
        s.status?.clusterName ? [`${s.metadata.namespace}/${s.status.clusterName}`] : [],
      );
  }

  private backupsOf(cluster: Cluster): Backup[] {
    return this.backups
      .list(cluster.metadata.namespace)
      .filter(
        (b) =>
          b.spec.clusterName === cluster.metadata.name &&
          (!b.status?.sourceClusterUID || b.status.sourceClusterUID === cluster.metadata.uid),
      );
  }

  private async reconcile(key: string): Promise<ReconcileResult | void> {
    const cluster = this.clusters.get(key);
    if (!cluster || cluster.metadata.deletionTimestamp) return;
    await keepShortForm(this.ctx, cluster, this.policies, this.schedules);
    const backups = this.backupsOf(cluster);
    if (!cluster.spec.backup && backups.length === 0 && !cluster.status?.backup) return;
    await this.followTerminationPolicy(cluster, backups);
    const pitr = Boolean(cluster.spec.backup?.pointInTime);
    const archive = pitr ? await this.archiveStatus(cluster) : undefined;
    await this.writeStatus(cluster, backups, this.scheduledRuns(cluster), archive);
    return pitr ? { requeueAfterMs: ARCHIVE_POLL_MS } : undefined;
  }

  /** The last run and the next one among the schedules of the cluster's policies. */
  private scheduledRuns(cluster: Cluster): { last?: string; next?: string } {
    const namespace = cluster.metadata.namespace;
    const statuses = this.schedules
      .list(namespace)
      .filter(
        (s) => this.policies.get(`${namespace}/${s.spec.policy}`)?.spec.clusterName === cluster.metadata.name,
      )
      .map((s) => s.status ?? {});
    const last = statuses.map((s) => s.lastScheduleTime).filter((t): t is string => Boolean(t));
    const next = statuses.map((s) => s.nextScheduleTime).filter((t): t is string => Boolean(t));
    return { last: last.sort().at(-1), next: next.sort()[0] };
  }

  /**
   * Backups outlive their cluster, except under WipeOut: then the cluster owns them and the
   * garbage collector deletes them (and so their data) with it. Kept in step with the policy.
   */
  private async followTerminationPolicy(cluster: Cluster, backups: Backup[]): Promise<void> {
    const wipe = cluster.spec.terminationPolicy === "WipeOut";
    for (const backup of backups) {
      if (backup.metadata.deletionTimestamp) continue;
      const owners = backup.metadata.ownerReferences ?? [];
      const owned = owners.some((o) => o.uid === cluster.metadata.uid);
      if (owned === wipe) continue;
      const next = wipe
        ? [
            ...owners,
            {
              apiVersion: API_VERSION,
              kind: "Cluster",
              name: cluster.metadata.name!,
              uid: cluster.metadata.uid!,
            },
          ]
        : owners.filter((o) => o.uid !== cluster.metadata.uid);
      await retryOnConflict(async () => {
        const current = await this.ctx.client.find<Backup>({
          apiVersion: API_VERSION,
          kind: "Backup",
          namespace: backup.metadata.namespace!,
          name: backup.metadata.name!,
        });
        if (!current) return;
        await this.ctx.client.replace<Backup>({
          ...current,
          metadata: { ...current.metadata, ownerReferences: next },
        });
      });
    }
  }

  /** The freshest report among the cluster's archivers: the writable instance's is the one archiving. */
  private async archiveStatus(cluster: Cluster): Promise<ArchiveStatus | undefined> {
    const pods = this.pods
      .list(cluster.metadata.namespace)
      .filter((p) => p.metadata?.labels?.[labels.cluster] === cluster.metadata.name && p.status?.podIP);
    const reports = await Promise.all(
      pods.map(async (pod) => {
        if (!pod.spec?.containers.some((c) => c.ports?.some((p) => p.containerPort === ARCHIVER_PORT)))
          return undefined;
        try {
          const response = await fetch(`http://${pod.status!.podIP}:${ARCHIVER_PORT}/`, {
            signal: AbortSignal.timeout(2000),
          });
          return (await response.json()) as ArchiveStatus;
        } catch {
          return undefined;
        }
      }),
    );
    const found = reports.filter((r): r is ArchiveStatus => Boolean(r));
    const activity = (r: ArchiveStatus) =>
      Math.max(Date.parse(r.lastArchivedTime ?? "") || 0, Date.parse(r.lastFailedTime ?? "") || 0);
    return found.sort((a, b) => activity(b) - activity(a))[0];
  }

  private async writeStatus(
    cluster: Cluster,
    backups: Backup[],
    scheduled: { last?: string; next?: string },
    archive: ArchiveStatus | undefined,
  ): Promise<void> {
    const byCreation = [...backups].sort(
      (a, b) =>
        Date.parse(b.metadata.creationTimestamp ?? "") - Date.parse(a.metadata.creationTimestamp ?? ""),
    );
    const completed = backups
      .filter((b) => b.status?.phase === "Completed" && b.status.completionTime)
      .sort((a, b) => Date.parse(a.status!.completionTime!) - Date.parse(b.status!.completionTime!));
    const finished = byCreation.find((b) => b.status?.phase === "Completed" || b.status?.phase === "Failed");
    const newest = completed.at(-1)?.status?.completionTime;
    const pitr = Boolean(cluster.spec.backup?.pointInTime);
    const archivedTo = archive?.lastArchivedTime ?? cluster.status?.backup?.logArchive?.lastArchivedTime;
    const to = pitr && archivedTo && newest && archivedTo > newest ? archivedTo : newest;
    const metricLabels = { namespace: cluster.metadata.namespace!, cluster: cluster.metadata.name! };
    const failing =
      archive !== undefined &&
      archive.failedCount > 0 &&
      (Date.parse(archive.lastFailedTime ?? "") || 0) > (Date.parse(archive.lastArchivedTime ?? "") || 0);
    if (archive) {
      logArchiveFailing.set(metricLabels, failing ? 1 : 0);
      logArchivePending.set(metricLabels, archive.pending);
      if (archive.lastArchivedTime)
        logArchiveLast.set(metricLabels, Date.parse(archive.lastArchivedTime) / 1000);
    }
    await updateStatus<Cluster>(
      this.ctx.client,
      {
        apiVersion: API_VERSION,
        kind: "Cluster",
        namespace: cluster.metadata.namespace!,
        name: cluster.metadata.name!,
      },
      (c) => {
        const previous = c.status?.backup ?? {};
        let conditions = c.status?.conditions;
        if (finished) {
          const ok = finished.status?.phase === "Completed";
          conditions = setCondition(conditions, {
            type: "LastBackupSucceeded",
            status: ok,
            reason: ok ? "Completed" : (finished.status?.reason ?? "Failed"),
            message: ok
              ? `backup ${finished.metadata.name} completed at ${finished.status?.completionTime}`
              : `backup ${finished.metadata.name} failed: ${finished.status?.message ?? "see its status"}`,
          });
        }
        if (pitr) {
          conditions = setCondition(conditions, archiveCondition(archive, failing));
        }
        c.status = {
          ...c.status,
          backup: JSON.parse(
            JSON.stringify({
              ...previous,
              lastBackup: byCreation[0]?.metadata.name,
              lastBackupPhase: byCreation[0]?.status?.phase,
              lastCompletedTime: newest,
              lastScheduleTime: scheduled.last,
              nextScheduleTime: scheduled.next,
              recoverableRange: completed.length
                ? { from: completed[0]!.status!.completionTime, to }
                : undefined,
              logArchive: pitr
                ? {
                    lastArchived: archive?.lastArchived ?? previous.logArchive?.lastArchived,
                    lastArchivedTime: archivedTo,
                    lastError: archive?.lastError ?? previous.logArchive?.lastError,
                  }
                : undefined,
            }),
          ) as NonNullable<Cluster["status"]>["backup"],
          conditions,
        };
      },
    );
  }
}

function archiveCondition(archive: ArchiveStatus | undefined, failing: boolean) {
  if (!archive) {
    return {
      type: "LogArchiving",
      status: "Unknown" as const,
      reason: "NoReport",
      message: "no log archiver has reported yet",
    };
  }
  if (failing) {
    return {
      type: "LogArchiving",
      status: false,
      reason: "ArchiveFailing",
      message: `archiving failed: ${archive.lastError}`,
    };
  }
  if (archive.pending > ARCHIVE_BEHIND_FILES) {
    return {
      type: "LogArchiving",
      status: false,
      reason: "ArchiveBehind",
      message: `${archive.pending} log files are waiting to be archived`,
    };
  }
  return {
    type: "LogArchiving",
    status: true,
    reason: "Archiving",
    message: archive.lastArchived
      ? `last archived ${archive.lastArchived} at ${archive.lastArchivedTime}`
      : "no log file finished yet",
  };
}
