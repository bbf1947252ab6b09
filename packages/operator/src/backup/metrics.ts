import { Counter, Gauge } from "prom-client";
import { metricsRegistry } from "@tessera/kube";

const clusterLabels = ["namespace", "cluster"] as const;

export const backupsCompleted = new Counter({
  name: "tessera_backup_completed_total",
  help: "Backups that completed, by cluster.",
  labelNames: clusterLabels,
  registers: [metricsRegistry],
});

export const backupsFailed = new Counter({
  name: "tessera_backup_failed_total",
  help: "Backups that failed (including timeouts), by cluster.",
  labelNames: clusterLabels,
  registers: [metricsRegistry],
});

export const lastBackupStatus = new Gauge({
  name: "tessera_backup_last_status",
  help: "1 when the cluster's newest finished backup completed, 0 when it failed.",
  labelNames: clusterLabels,
  registers: [metricsRegistry],
});

export const lastBackupCompletion = new Gauge({
  name: "tessera_backup_last_completion_timestamp_seconds",
  help: "When the cluster's newest completed backup ended (Unix time).",
  labelNames: clusterLabels,
  registers: [metricsRegistry],
});

export const logArchiveFailing = new Gauge({
  name: "tessera_log_archive_failing",
  help: "1 while the cluster's log archiver reports failures newer than its last success.",
  labelNames: clusterLabels,
  registers: [metricsRegistry],
});

export const logArchivePending = new Gauge({
  name: "tessera_log_archive_pending_files",
  help: "Log files waiting to be archived on the writable instance.",
  labelNames: clusterLabels,
  registers: [metricsRegistry],
});

export const logArchiveLast = new Gauge({
  name: "tessera_log_archive_last_archived_timestamp_seconds",
  help: "When the cluster's last log file was archived (Unix time).",
  labelNames: clusterLabels,
  registers: [metricsRegistry],
});
