import type { CoreV1Event } from "@kubernetes/client-node";
import type { Backup } from "@tessera/api";
import { recentEvents, renderEvents, type EventView } from "../events.js";
import type { OutputFormat } from "../options.js";
import {
  age,
  bytes,
  duration,
  fields,
  print,
  serialize,
  timestamp,
  withoutManagedFields,
} from "../output.js";
import type { Session } from "../session.js";
import type { Style } from "../style.js";
import { backupHealth, backupState, findBackup } from "./common.js";
import { deletionEffect } from "./delete.js";

export interface DescribeBackupOptions {
  namespace?: string;
  output: OutputFormat;
}

/** A Backup with its Events and those of the pods that took or delete its data. */
export async function describeBackup(
  session: Session,
  name: string,
  options: DescribeBackupOptions,
): Promise<void> {
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const backup = await findBackup(conn, namespace, name);
  const events = await conn.client.list<CoreV1Event>("v1", "Event", { namespace });
  const pods = new Set([backup.status?.backupPod, `${name}-backup`, `${name}-cleanup`]);
  const views = recentEvents(
    events.items,
    (object) =>
      (object.kind === "Backup" && object.name === name) || (object.kind === "Pod" && pods.has(object.name)),
  );
  if (options.output !== "table") {
    print(serialize({ ...withoutManagedFields(backup), events: views }, options.output));
    return;
  }
  print(renderBackup(session.style, backup, views));
}

/** `3h ago (2026-01-01T09:00:00Z)`. */
function at(time: string | undefined, now: number): string {
  return time ? `${age(time, now)} ago (${time})` : "-";
}

/** Continuation lines of a multi-line value, indented under its first line. */
function indented(text: string, width: number): string {
  return text
    .trim()
    .split("\n")
    .join(`\n${" ".repeat(width)}`);
}

export function renderBackup(style: Style, backup: Backup, events: EventView[], now = Date.now()): string {
  const status = backup.status ?? {};
  const spec = backup.spec;
  const size =
    status.sizeBytes === undefined
      ? "-"
      : `${bytes(status.sizeBytes)} stored${status.sourceBytes === undefined ? "" : ` (${bytes(status.sourceBytes)} before compression)`}`;
  const entries: [string, string][] = [
    ["Name", backup.metadata.name!],
    ["Namespace", backup.metadata.namespace!],
    ["Cluster", `${spec.clusterName}${status.component ? `, component ${status.component}` : ""}`],
    ["Status", style.state(backupState(backup), backupHealth(status.phase))],
    ["Message", status.message ?? "-"],
    ["Method", status.method ?? spec.method ?? "the addon's default"],
    [
      "Repository",
      `${status.repo ?? spec.repo ?? "the cluster's"}${status.location ? ` (${status.location})` : ""}`,
    ],
    ["Path", status.path ?? "-"],
    ["Size", size],
    ["SHA-256", status.sha256 ?? "-"],
    ["Started", at(status.startTime, now)],
    ["Finished", at(status.completionTime, now)],
    ["Duration", status.durationSeconds === undefined ? "-" : duration(status.durationSeconds * 1000)],
    ["Start position", status.startPosition ?? "-"],
    ["End position", status.endPosition ?? "-"],
    [
      "Engine",
      [
        status.compDef,
        status.serviceVersion && `version ${status.serviceVersion}`,
        status.engineVersion && `(${status.engineVersion})`,
      ]
        .filter(Boolean)
        .join(" ") || "-",
    ],
    ["Read from", status.targetPod ?? "-"],
    ["Backup pod", status.backupPod ?? "-"],
    [
      "Point in time",
      status.pointInTime
        ? `logs archived${status.logsPath ? ` under ${status.logsPath}` : ""}: a restore can go past its end`
        : "no: a restore reaches its end only",
    ],
    ["Encryption", status.encrypted ? `key from Secret ${status.encryptionKeySecret ?? "-"}` : "none"],
    ["Taken", status.scheduled ? "by the cluster's schedule" : "on demand"],
    ["Deletion", deletionEffect(backup)],
    ["Timeout", spec.timeoutSeconds ? `${spec.timeoutSeconds}s` : "the operator's default (1h)"],
    ["Created", at(timestamp(backup.metadata.creationTimestamp), now)],
  ];
  const width = Math.max(...entries.map(([k]) => k.length)) + 2;
  const body = fields(
    style,
    entries.map(([k, v]) => [k, indented(v, width)]),
  );
  return `${body}\n\n${renderEvents(style, events)}`;
}
