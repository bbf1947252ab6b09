import type { BackupSchedule, Cluster } from "@tessera/api";
import { backupHealth } from "../backup/common.js";
import { age, fields } from "../output.js";
import type { Style } from "../style.js";

/** A cluster's backups as `cluster describe` shows them; also part of its JSON/YAML output. */
export interface BackupsView {
  repo?: string;
  method?: string;
  /** Cron expression, in UTC. */
  schedule?: string;
  retention?: { count?: number; maxAge?: string };
  pointInTime: boolean;
  encryptionKeySecret?: string;
  lastBackup?: string;
  lastBackupPhase?: string;
  lastCompletedTime?: string;
  lastScheduleTime?: string;
  nextScheduleTime?: string;
  recoverableRange?: { from?: string; to?: string };
  logArchive?: { lastArchived?: string; lastArchivedTime?: string; lastError?: string };
  restoredFrom?: { backup: string; pointInTime?: string };
  /** BackupSchedules made by hand for the cluster, beside the one spec.backup stands for. */
  otherSchedules?: ScheduleView[];
}

export interface ScheduleView {
  name: string;
  policy: string;
  schedule: string;
  /** Why it takes no runs, when it does not (its Ready condition's reason). */
  notRunning?: string;
  nextScheduleTime?: string;
}

/** Scheduled backups kept when spec.backup.retention.count is unset (the operator's default). */
const DEFAULT_RETENTION_COUNT = 7;

/** The view, or undefined for a cluster that neither has backup settings nor was restored. */
export function backupsView(cluster: Cluster, schedules: BackupSchedule[] = []): BackupsView | undefined {
  const spec = cluster.spec.backup;
  const status = cluster.status?.backup;
  const restore = cluster.spec.restore;
  const others = schedules
    .filter(
      (s) => s.status?.clusterName === cluster.metadata.name && s.metadata.name !== cluster.metadata.name,
    )
    .map((s): ScheduleView => {
      const ready = s.status?.conditions?.find((c) => c.type === "Ready");
      return {
        name: s.metadata.name!,
        policy: s.spec.policy,
        schedule: s.spec.schedule,
        ...(ready?.status === "False" ? { notRunning: ready.reason } : {}),
        ...(s.status?.nextScheduleTime ? { nextScheduleTime: s.status.nextScheduleTime } : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  if (!spec && !status && !restore && !others.length) return undefined;
  return {
    repo: spec?.repo,
    method: spec?.method,
    schedule: spec?.schedule,
    retention: spec?.schedule
      ? { count: spec.retention?.count ?? DEFAULT_RETENTION_COUNT, maxAge: spec.retention?.maxAge }
      : undefined,
    pointInTime: spec?.pointInTime ?? false,
    encryptionKeySecret: spec?.encryptionKeySecret,
    lastBackup: status?.lastBackup,
    lastBackupPhase: status?.lastBackupPhase,
    lastCompletedTime: status?.lastCompletedTime,
    lastScheduleTime: status?.lastScheduleTime,
    nextScheduleTime: status?.nextScheduleTime,
    recoverableRange: status?.recoverableRange,
    logArchive: status?.logArchive,
    restoredFrom: restore ? { backup: restore.backup, pointInTime: restore.pointInTime } : undefined,
    otherSchedules: others.length ? others : undefined,
  };
}

/** `3h ago (2026-01-01T09:00:00Z)`, or `in 5h (…)` for a moment to come. */
function when(time: string, now: number): string {
  const at = Date.parse(time);
  return at > now ? `in ${age(new Date(now), at)} (${time})` : `${age(time, now)} ago (${time})`;
}

/** The `Backups` section of `cluster describe`. */
export function renderBackups(style: Style, b: BackupsView, now = Date.now()): string {
  const entries: [string, string][] = [];
  if (b.repo) entries.push(["Repository", `${b.repo}, method ${b.method ?? "the addon's default"}`]);
  if (b.repo) {
    const kept = b.retention
      ? `, keeping the newest ${b.retention.count}${b.retention.maxAge ? ` up to ${b.retention.maxAge} old` : ""}`
      : "";
    entries.push(["Schedule", b.schedule ? `${b.schedule} (UTC)${kept}` : "none: backups on demand only"]);
  }
  for (const s of b.otherSchedules ?? []) {
    const state = s.notRunning
      ? style.red(`not running: ${s.notRunning}`)
      : s.nextScheduleTime
        ? `next ${when(s.nextScheduleTime, now)}`
        : "";
    entries.push([
      "Also scheduled",
      `${s.name}: ${s.schedule} (UTC), policy ${s.policy}${state ? `, ${state}` : ""}`,
    ]);
  }
  if (b.encryptionKeySecret) entries.push(["Encryption", `key from Secret ${b.encryptionKeySecret}`]);
  entries.push([
    "Last backup",
    b.lastBackup
      ? `${b.lastBackup} ${style.state(b.lastBackupPhase ?? "Pending", backupHealth(b.lastBackupPhase))}`
      : "none yet",
  ]);
  entries.push(["Last completed", b.lastCompletedTime ? when(b.lastCompletedTime, now) : "never"]);
  if (b.lastScheduleTime) entries.push(["Last scheduled", when(b.lastScheduleTime, now)]);
  if (b.nextScheduleTime) entries.push(["Next scheduled", when(b.nextScheduleTime, now)]);
  const range = b.recoverableRange;
  entries.push([
    "Recoverable",
    range?.from || range?.to
      ? `${range.from ?? "?"} → ${range.to ?? "?"}`
      : "nothing yet (no completed backup)",
  ]);
  if (b.pointInTime || b.logArchive) {
    const archive = b.logArchive ?? {};
    const last = archive.lastArchived
      ? `last archived ${archive.lastArchived}${archive.lastArchivedTime ? ` ${when(archive.lastArchivedTime, now)}` : ""}`
      : "nothing archived yet";
    entries.push(["Log archiving", `${b.pointInTime ? "on" : "off"}, ${last}`]);
    if (archive.lastError) entries.push(["Archive error", style.red(archive.lastError)]);
  } else {
    entries.push(["Log archiving", "off (no point-in-time recovery)"]);
  }
  if (b.restoredFrom) {
    const to = b.restoredFrom.pointInTime ? `, to ${b.restoredFrom.pointInTime}` : ", to its end";
    entries.push(["Restored from", `backup ${b.restoredFrom.backup}${to}`]);
  }
  return `${style.bold("Backups")}\n${fields(style, entries)}`;
}
