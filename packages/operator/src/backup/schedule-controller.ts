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
  isAlreadyExists,
  isNotFound,
  updateStatus,
  type Informer,
  type ReconcileResult,
} from "@tessera/kube";
import { setCondition } from "../conditions.js";
import type { OperatorContext } from "../context.js";
import { rfc3339 } from "../time.js";
import { cronError, dueRun, nextRun, pastRetention } from "./schedule.js";

/** On a Backup a schedule created: that it was scheduled, by which schedule, under which policy. */
export const scheduleLabels = {
  scheduled: "tessera.dev/scheduled",
  schedule: "tessera.dev/backup-schedule",
  policy: "tessera.dev/backup-policy",
} as const;

/** `<schedule>-<yyyymmddhhmmss>` of a scheduled run (a schedule may have a seconds field). */
export function scheduledBackupName(schedule: string, at: Date): string {
  return `${schedule}-${rfc3339(at)
    .replace(/[-:TZ]/g, "")
    .slice(0, 14)}`;
}

interface ScheduleState {
  ready: { status: boolean; reason: string; message: string };
  clusterName?: string;
  last?: string;
  next?: string;
  lastBackup?: string;
}

/**
 * Each BackupSchedule: creates the Backup of every run that falls due (cron, UTC; runs missed
 * while the operator was away collapse into one), deletes its policy's scheduled backups past
 * the policy's retention, and says in status when it ran, when it runs next, and why it cannot.
 * A run's Backup has a name fixed by its scheduled time, so an operator restarted between
 * creating it and recording the run creates nothing twice.
 */
export class BackupScheduleController {
  readonly controller: Controller;
  private readonly schedules: Informer<BackupSchedule>;
  private readonly policies: Informer<BackupPolicy>;
  private readonly clusters: Informer<Cluster>;
  private readonly backups: Informer<Backup>;

  constructor(private readonly ctx: OperatorContext) {
    this.schedules = ctx.informers.get<BackupSchedule>(API_VERSION, "BackupSchedule");
    this.policies = ctx.informers.get<BackupPolicy>(API_VERSION, "BackupPolicy");
    this.clusters = ctx.informers.get<Cluster>(API_VERSION, "Cluster");
    this.backups = ctx.informers.get<Backup>(API_VERSION, "Backup");
    this.controller = new Controller({
      name: "backup-schedule",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 2,
      logger: ctx.logger,
    })
      .watches(this.schedules)
      .watchesMapped(this.policies, (policy) =>
        this.schedules
          .list(policy.metadata.namespace)
          .filter((s) => s.spec.policy === policy.metadata.name)
          .map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
      )
      .watchesMapped(this.backups, (backup) => {
        const schedule = backup.metadata.labels?.[scheduleLabels.schedule];
        return schedule ? [`${backup.metadata.namespace}/${schedule}`] : [];
      });
  }

  private async reconcile(key: string): Promise<ReconcileResult | void> {
    const schedule = this.schedules.get(key);
    if (!schedule || schedule.metadata.deletionTimestamp) return;
    const namespace = schedule.metadata.namespace!;
    const now = new Date();
    const state = await this.run(schedule, namespace, now);
    await this.writeStatus(schedule, state);
    if (!state.next) return;
    return { requeueAfterMs: Math.max(1000, Date.parse(state.next) - now.getTime()) };
  }

  private async run(schedule: BackupSchedule, namespace: string, now: Date): Promise<ScheduleState> {
    const policy = this.policies.get(`${namespace}/${schedule.spec.policy}`);
    if (!policy) {
      return {
        ready: {
          status: false,
          reason: "PolicyNotFound",
          message: `backup policy ${schedule.spec.policy} does not exist in ${namespace}`,
        },
      };
    }
    const clusterName = policy.spec.clusterName;
    const cluster = this.clusters.get(`${namespace}/${clusterName}`);
    if (!cluster || cluster.metadata.deletionTimestamp) {
      return {
        clusterName,
        ready: {
          status: false,
          reason: "ClusterNotFound",
          message: `cluster ${clusterName} of policy ${policy.metadata.name} does not exist in ${namespace}`,
        },
      };
    }
    const invalid = cronError(schedule.spec.schedule);
    if (invalid) {
      return {
        clusterName,
        ready: { status: false, reason: "InvalidSchedule", message: `spec.schedule: ${invalid}` },
      };
    }
    await this.applyRetention(policy, cluster);
    if (schedule.spec.suspend) {
      return {
        clusterName,
        last: schedule.status?.lastScheduleTime,
        lastBackup: schedule.status?.lastBackup,
        ready: { status: false, reason: "Suspended", message: "spec.suspend is true: no run is started" },
      };
    }
    // A schedule resumed after a suspension starts from now: the runs it skipped are not owed.
    const recorded =
      schedule.status?.conditions?.find((c) => c.type === "Ready")?.reason === "Suspended"
        ? undefined
        : (schedule.status?.lastScheduleTime ?? schedule.metadata.creationTimestamp);
    const last = new Date(Date.parse(String(recorded)) || now.getTime());
    const due = dueRun(schedule.spec.schedule, last, now);
    let lastBackup = schedule.status?.lastBackup;
    if (due) lastBackup = await this.createBackup(schedule, policy, cluster, due);
    const latest = due ?? last;
    return {
      clusterName,
      last: due || recorded !== schedule.metadata.creationTimestamp ? rfc3339(latest) : undefined,
      next: rfc3339(nextRun(schedule.spec.schedule, latest)),
      lastBackup,
      ready: {
        status: true,
        reason: "Scheduled",
        message: `backups of cluster ${clusterName} to ${policy.spec.repo} on "${schedule.spec.schedule}" (UTC)`,
      },
    };
  }

  private async createBackup(
    schedule: BackupSchedule,
    policy: BackupPolicy,
    cluster: Cluster,
    due: Date,
  ): Promise<string> {
    const name = scheduledBackupName(schedule.metadata.name!, due);
    const backup: Backup = {
      apiVersion: API_VERSION,
      kind: "Backup",
      metadata: {
        name,
        namespace: schedule.metadata.namespace,
        labels: {
          [labels.cluster]: cluster.metadata.name!,
          [scheduleLabels.scheduled]: "true",
          [scheduleLabels.schedule]: schedule.metadata.name!,
          [scheduleLabels.policy]: policy.metadata.name!,
        },
      },
      spec: {
        clusterName: cluster.metadata.name!,
        policy: policy.metadata.name!,
        ...(schedule.spec.method ? { method: schedule.spec.method } : {}),
        deletionPolicy: "Delete",
      },
    };
    try {
      await this.ctx.client.create(backup);
      const message = `created backup ${name} for the run of ${rfc3339(due)}`;
      await this.ctx.recorder.record(schedule, "Normal", "ScheduledBackup", message);
      await this.ctx.recorder.record(cluster, "Normal", "ScheduledBackup", message);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    return name;
  }

  /** The policy's scheduled backups of this cluster (not of an earlier one of the same name) past retention. */
  private async applyRetention(policy: BackupPolicy, cluster: Cluster): Promise<void> {
    const scheduled = this.backups
      .list(policy.metadata.namespace)
      .filter(
        (b) =>
          b.metadata.labels?.[scheduleLabels.policy] === policy.metadata.name &&
          b.metadata.labels?.[scheduleLabels.scheduled] === "true" &&
          !b.metadata.deletionTimestamp &&
          (!b.status?.sourceClusterUID || b.status.sourceClusterUID === cluster.metadata.uid),
      );
    for (const expired of pastRetention(scheduled, policy.spec.retention, new Date())) {
      try {
        await this.ctx.client.delete({
          apiVersion: API_VERSION,
          kind: "Backup",
          namespace: expired.metadata.namespace!,
          name: expired.metadata.name!,
        });
        this.ctx.logger.info(
          { backup: expired.metadata.name, namespace: expired.metadata.namespace },
          "backup past retention deleted",
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }

  private async writeStatus(schedule: BackupSchedule, state: ScheduleState): Promise<void> {
    await updateStatus<BackupSchedule>(
      this.ctx.client,
      {
        apiVersion: API_VERSION,
        kind: "BackupSchedule",
        namespace: schedule.metadata.namespace!,
        name: schedule.metadata.name!,
      },
      (s) => {
        s.status = JSON.parse(
          JSON.stringify({
            clusterName: state.clusterName,
            lastScheduleTime: state.last,
            nextScheduleTime: state.next,
            lastBackup: state.lastBackup,
            conditions: setCondition(s.status?.conditions, { type: "Ready", ...state.ready }),
          }),
        ) as BackupSchedule["status"];
      },
    );
  }
}
