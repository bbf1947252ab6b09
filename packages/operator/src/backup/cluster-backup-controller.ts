import type { V1Pod } from "@kubernetes/client-node";
import { API_VERSION, labels, type Backup, type Cluster } from "@tessera/api";
import {
  Controller,
  isAlreadyExists,
  isNotFound,
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
import { dueRun, nextRun, pastRetention } from "./schedule.js";
import { rfc3339 } from "../time.js";

/** On a Backup the schedule created. */
export const SCHEDULED_LABEL = "tessera.dev/scheduled";
/** How often the log archivers are asked how they are doing. */
const ARCHIVE_POLL_MS = 15_000;
/** Files waiting in the outbox beyond this count as falling behind. */
const ARCHIVE_BEHIND_FILES = 8;

/** `<cluster>-<yyyymmddhhmmss>` of a scheduled run (a schedule may have a seconds field). */
export function scheduledBackupName(cluster: string, at: Date): string {
  return `${cluster}-${rfc3339(at)
    .replace(/[-:TZ]/g, "")
    .slice(0, 14)}`;
}

/**
 * Per cluster: takes scheduled backups (cron, UTC) and applies retention, asks the log archivers
 * how they are doing, and reports the cluster's backups, recoverable range and the
 * LastBackupSucceeded and LogArchiving conditions.
 */
export class ClusterBackupController {
  readonly controller: Controller;
  private readonly clusters: Informer<Cluster>;
  private readonly backups: Informer<Backup>;
  private readonly pods: Informer<V1Pod>;

  constructor(private readonly ctx: OperatorContext) {
    this.clusters = ctx.informers.get<Cluster>(API_VERSION, "Cluster");
    this.backups = ctx.informers.get<Backup>(API_VERSION, "Backup");
    this.pods = ctx.informers.get<V1Pod>("v1", "Pod", { labelSelector: `${labels.managedBy}=tessera` });
    this.controller = new Controller({
      name: "cluster-backup",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 2,
      logger: ctx.logger,
    })
      .watches(this.clusters)
      .watchesMapped(this.backups, (b) => [`${b.metadata.namespace}/${b.spec.clusterName}`]);
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
    const backups = this.backupsOf(cluster);
    if (!cluster.spec.backup && backups.length === 0 && !cluster.status?.backup) return;
    await this.followTerminationPolicy(cluster, backups);
    const now = new Date();
    const waits: number[] = [];
    let scheduled: { last?: string; next?: string } = {};
    const schedule = cluster.spec.backup?.schedule;
    if (schedule) {
      scheduled = await this.runSchedule(cluster, schedule, now);
      if (scheduled.next) waits.push(Date.parse(scheduled.next) - now.getTime());
      for (const expired of pastRetention(
        backups.filter((b) => b.metadata.labels?.[SCHEDULED_LABEL] === "true"),
        cluster.spec.backup?.retention,
        now,
      )) {
        await this.deleteBackup(expired);
      }
    }
    const archive = cluster.spec.backup?.pointInTime ? await this.archiveStatus(cluster) : undefined;
    if (cluster.spec.backup?.pointInTime) waits.push(ARCHIVE_POLL_MS);
    await this.writeStatus(cluster, backups, scheduled, archive);
    const wait = Math.min(...waits.filter((w) => w > 0));
    return Number.isFinite(wait) ? { requeueAfterMs: Math.max(1000, wait) } : undefined;
  }

  /** Creates the Backup of the run due now, if any; returns the last and next scheduled times. */
  private async runSchedule(
    cluster: Cluster,
    schedule: string,
    now: Date,
  ): Promise<{ last?: string; next?: string }> {
    const recorded = cluster.status?.backup?.lastScheduleTime ?? cluster.metadata.creationTimestamp;
    const last = new Date(Date.parse(String(recorded)) || now.getTime());
    let due: Date | undefined;
    try {
      due = dueRun(schedule, last, now);
    } catch {
      return {};
    }
    const latest = due ?? last;
    if (due) {
      const backup: Backup = {
        apiVersion: API_VERSION,
        kind: "Backup",
        metadata: {
          name: scheduledBackupName(cluster.metadata.name!, due),
          namespace: cluster.metadata.namespace,
          labels: { [labels.cluster]: cluster.metadata.name!, [SCHEDULED_LABEL]: "true" },
        },
        spec: {
          clusterName: cluster.metadata.name!,
          repo: cluster.spec.backup!.repo,
          ...(cluster.spec.backup?.method ? { method: cluster.spec.backup.method } : {}),
          deletionPolicy: "Delete",
        },
      };
      try {
        await this.ctx.client.create(backup);
        await this.ctx.recorder.record(
          cluster,
          "Normal",
          "ScheduledBackup",
          `created backup ${backup.metadata.name} for the run of ${rfc3339(due)}`,
        );
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }
    }
    return { last: rfc3339(latest), next: rfc3339(nextRun(schedule, latest)) };
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

  private async deleteBackup(backup: Backup): Promise<void> {
    if (backup.metadata.deletionTimestamp) return;
    try {
      await this.ctx.client.delete({
        apiVersion: API_VERSION,
        kind: "Backup",
        namespace: backup.metadata.namespace!,
        name: backup.metadata.name!,
      });
      this.ctx.logger.info(
        { backup: backup.metadata.name, namespace: backup.metadata.namespace },
        "backup past retention deleted",
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
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
              ...(scheduled.last ? { lastScheduleTime: scheduled.last } : {}),
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
