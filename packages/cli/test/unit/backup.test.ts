import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backup } from "@tessera/api";
import { backupManifest, completedSummary, defaultBackupName } from "../../src/backup/create.js";
import { deletionEffect } from "../../src/backup/delete.js";
import { renderBackup } from "../../src/backup/describe.js";
import { backupRows } from "../../src/backup/list.js";
import { UsageError } from "../../src/errors.js";
import { bytes } from "../../src/output.js";
import { Style } from "../../src/style.js";

const plain = new Style(false);
const NOW = new Date("2026-03-04T05:06:07.890Z");

function completed(name: string, status: Backup["status"] = {}): Backup {
  return {
    apiVersion: "tessera.dev/v1alpha1",
    kind: "Backup",
    metadata: { name, namespace: "prod", creationTimestamp: "2026-03-04T05:00:00Z", uid: "u1" },
    spec: { clusterName: "pg", deletionPolicy: "Delete" },
    status: {
      phase: "Completed",
      component: "postgresql",
      method: "basebackup",
      repo: "local",
      location: "/srv/backups",
      path: "prod/pg/postgresql/pg-1",
      sizeBytes: 3_565_158,
      sourceBytes: 52_428_800,
      sha256: "ab12",
      startTime: "2026-03-04T05:00:01Z",
      completionTime: "2026-03-04T05:00:05Z",
      durationSeconds: 4.2,
      startPosition: "0/3000028",
      endPosition: "0/3000100",
      engineVersion: "PostgreSQL 15.4",
      serviceVersion: "15",
      compDef: "postgresql-15",
      ...status,
    },
  };
}

test("a backup is named after its cluster and the UTC second it was asked for", () => {
  assert.equal(defaultBackupName("pg", NOW), "pg-20260304050607");
  const backup = backupManifest("pg", "prod", {}, NOW);
  assert.deepEqual(backup.metadata, {
    name: "pg-20260304050607",
    namespace: "prod",
    labels: { "tessera.dev/cluster": "pg" },
  });
  assert.deepEqual(backup.spec, { clusterName: "pg", deletionPolicy: "Delete" });
  const chosen = backupManifest("pg", "prod", { name: "before-upgrade", method: "dump", repo: "s3" }, NOW);
  assert.equal(chosen.metadata.name, "before-upgrade");
  assert.deepEqual(chosen.spec, { clusterName: "pg", method: "dump", repo: "s3", deletionPolicy: "Delete" });
});

test("bad cluster names, backup names and empty flags are usage errors before any request", () => {
  const usage = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (error: unknown) => error instanceof UsageError && pattern.test(error.message));
  usage(() => backupManifest("PG", "prod", {}, NOW), /cluster name "PG" must be a DNS label/);
  usage(() => backupManifest("pg", "prod", { name: "Nightly" }, NOW), /^--name Nightly: lower-case/);
  usage(() => backupManifest("pg", "prod", { name: "x".repeat(246) }, NOW), /at most 245 characters/);
  usage(() => backupManifest("pg", "prod", { method: " " }, NOW), /^--method: empty$/);
  usage(() => backupManifest("pg", "prod", { repo: "" }, NOW), /^--repo: empty$/);
});

test("sizes read in binary units", () => {
  assert.equal(bytes(0), "0 B");
  assert.equal(bytes(1023), "1023 B");
  assert.equal(bytes(1536), "1.5 KiB");
  assert.equal(bytes(3_565_158), "3.4 MiB");
  assert.equal(bytes(52_428_800), "50 MiB");
  assert.equal(bytes(5 * 1024 ** 4), "5.0 TiB");
});

test("a completed backup is summed up by size, duration and place", () => {
  assert.equal(
    completedSummary(completed("pg-1")),
    "3.4 MiB in 4.2s, stored at prod/pg/postgresql/pg-1 in local (/srv/backups)",
  );
});

test("the list shows one row per backup, with the last line of a failure's message", () => {
  const failed = completed("pg-2", {
    phase: "Failed",
    reason: "BackupCommandFailed",
    message: "pg_basebackup: error: connection refused\nexit status 1\n",
    sizeBytes: undefined,
  });
  const rows = backupRows(plain, [failed, completed("pg-1")], false);
  assert.deepEqual(
    rows.map((r) => [r[0], r[1], r[2], r[3], r[4], r[5], r[8]]),
    [
      ["pg-2", "pg", "basebackup", "local", "Failed (BackupCommandFailed)", "-", "exit status 1"],
      ["pg-1", "pg", "basebackup", "local", "Completed", "3.4 MiB", ""],
    ],
  );
  assert.equal(backupRows(plain, [failed], true)[0]![0], "prod");
});

test("deleting says what happens to the data", () => {
  assert.equal(
    deletionEffect(completed("pg-1")),
    "deletion policy Delete: the operator first deletes prod/pg/postgresql/pg-1 from local",
  );
  const kept = completed("pg-1");
  kept.spec.deletionPolicy = "Retain";
  assert.equal(
    deletionEffect(kept),
    "deletion policy Retain: its data stays in local at prod/pg/postgresql/pg-1",
  );
  assert.equal(
    deletionEffect({ ...completed("pg-1"), status: { phase: "Pending" } }),
    "deletion policy Delete: nothing was stored yet",
  );
});

test("describe shows every status field and the events, multi-line messages aligned", () => {
  const backup = completed("pg-1", {
    phase: "Failed",
    message: "first line\nsecond line",
    reason: "Timeout",
  });
  const text = renderBackup(
    plain,
    backup,
    [{ object: "Backup/pg-1", type: "Warning", reason: "Timeout", message: "took too long", count: 2 }],
    Date.parse("2026-03-04T06:00:05Z"),
  );
  const line = (label: string) => text.split("\n").find((l) => l.startsWith(`${label}:`));
  const field = (label: string, value: string) => `${`${label}:`.padEnd(16)}${value}`;
  assert.equal(line("Status"), field("Status", "Failed (Timeout)"));
  assert.equal(line("Message"), field("Message", "first line"));
  assert.ok(text.includes(`\n${" ".repeat(16)}second line\n`));
  assert.equal(line("Size"), field("Size", "3.4 MiB stored (50 MiB before compression)"));
  assert.equal(line("Finished"), field("Finished", "60m ago (2026-03-04T05:00:05Z)"));
  assert.equal(line("Engine"), field("Engine", "postgresql-15 version 15 (PostgreSQL 15.4)"));
  assert.equal(line("End position"), field("End position", "0/3000100"));
  assert.equal(line("Timeout"), field("Timeout", "the operator's default (1h)"));
  assert.match(
    text,
    /Events\nAGE\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n-\s+Warning\s+Timeout\s+Backup\/pg-1\s+took too long \(×2\)/,
  );
});
