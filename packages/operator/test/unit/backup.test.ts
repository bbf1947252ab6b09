import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod, V1PodSpec } from "@kubernetes/client-node";
import type { Backup, BackupMethod, BackupRepo } from "@tessera/api";
import { chooseTarget } from "../../src/backup/backup-controller.js";
import { scheduledBackupName } from "../../src/backup/schedule-controller.js";
import { withDataProtection } from "../../src/backup/instance-pods.js";
import { backupPod } from "../../src/backup/pods.js";
import { repoAccess } from "../../src/backup/repo-access.js";
import { cronError, dueRun, nextRun, pastRetention } from "../../src/backup/schedule.js";

const method: BackupMethod = {
  name: "dump",
  description: "a dump",
  target: "preferSecondary",
  command: ["sh", "/scripts/backup.sh"],
  restore: { command: ["sh", "/scripts/restore.sh"], scope: "FirstInstance", volume: "data" },
};

function pod(name: string, role: string | undefined, ready = true): V1Pod {
  return {
    metadata: { name, labels: role ? { "tessera.dev/role": role } : {} },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  };
}

function backup(name: string, phase: "Completed" | "Failed", completed: string): Backup {
  return {
    apiVersion: "tessera.dev/v1alpha1",
    kind: "Backup",
    metadata: { name, namespace: "ns", uid: `uid-${name}` },
    spec: { clusterName: "db", deletionPolicy: "Delete" },
    status: { phase, completionTime: completed },
  };
}

const fsRepo: BackupRepo = {
  apiVersion: "tessera.dev/v1alpha1",
  kind: "BackupRepo",
  metadata: { name: "local" },
  spec: { kind: "filesystem", filesystem: { path: "/srv/backups", nodeName: "node-1" } },
};

const template: V1PodSpec = {
  securityContext: { runAsUser: 999 },
  containers: [
    {
      name: "db",
      image: "engine:1",
      env: [{ name: "PASSWORD", value: "x" }],
      volumeMounts: [
        { name: "data", mountPath: "/data" },
        { name: "scripts", mountPath: "/scripts" },
      ],
    },
  ],
  volumes: [
    { name: "scripts", configMap: { name: "db-scripts" } },
    { name: "data", persistentVolumeClaim: { claimName: "data" } },
  ],
};

test("a backup reads a ready replica when there is one, else the primary; target primary reads only the primary", () => {
  const pods = [pod("db-0", "primary"), pod("db-1", "secondary", false), pod("db-2", "secondary")];
  assert.equal(chooseTarget(pods, method, "primary")?.metadata?.name, "db-2");
  assert.equal(chooseTarget(pods.slice(0, 2), method, "primary")?.metadata?.name, "db-0");
  assert.equal(chooseTarget(pods, { ...method, target: "primary" }, "primary")?.metadata?.name, "db-0");
  assert.equal(
    chooseTarget([pod("db-1", "secondary")], { ...method, target: "primary" }, "primary"),
    undefined,
  );
  assert.equal(chooseTarget([pod("db-0", undefined, false)], method, "primary"), undefined);
});

test("schedules are cron in UTC; missed runs collapse into the latest one due", () => {
  assert.equal(cronError("*/5 * * * *"), undefined);
  assert.ok(cronError("every day"));
  const last = new Date("2026-12-03T10:00:00Z");
  assert.equal(nextRun("0 3 * * *", last).toISOString(), "2026-12-04T03:00:00.000Z");
  assert.equal(dueRun("*/5 * * * *", last, new Date("2026-12-03T10:04:59Z")), undefined);
  assert.equal(
    dueRun("*/5 * * * *", last, new Date("2026-12-03T10:27:00Z"))?.toISOString(),
    "2026-12-03T10:25:00.000Z",
  );
  assert.equal(scheduledBackupName("db", new Date("2026-12-03T10:25:00Z")), "db-20261203102500");
});

test("retention keeps the newest completed backups by count and age, a few failed ones, and never the last completed one", () => {
  const completed = ["01", "02", "03", "04", "05"].map((m) =>
    backup(`b${m}`, "Completed", `2026-12-03T10:${m}:00Z`),
  );
  const failed = ["06", "07", "08", "09"].map((m) => backup(`f${m}`, "Failed", `2026-12-03T10:${m}:00Z`));
  const now = new Date("2026-12-03T10:10:00Z");
  const names = (list: Backup[]) => list.map((b) => b.metadata.name).sort();
  assert.deepEqual(names(pastRetention([...completed, ...failed], { count: 3 }, now)), ["b01", "b02", "f06"]);
  assert.deepEqual(names(pastRetention(completed, { count: 10, maxAge: "7m" }, now)), ["b01", "b02"]);
  assert.deepEqual(names(pastRetention(completed, { maxAge: "1m" }, now)), ["b01", "b02", "b03", "b04"]);
});

test("a backup pod joins the engine's command to the uploader by a FIFO, without the instance's data volume", () => {
  const b = backup("b1", "Completed", "2026-12-03T10:00:00Z");
  const spec = backupPod({
    backup: b,
    method,
    template,
    dataVolumes: new Set(["data"]),
    targetPod: "db-1",
    targetFQDN: "db-1.db-headless.ns.svc.cluster.local",
    key: "ns/db/uid/backups/b1/db",
    access: repoAccess(fsRepo),
  }).spec!;
  assert.equal(spec.nodeName, "node-1", "a directory repository is written on its node");
  const [engine, upload] = spec.containers;
  assert.deepEqual(engine?.command?.slice(-2), method.command);
  assert.ok(
    engine?.env?.some((e) => e.name === "PASSWORD"),
    "the engine's environment",
  );
  assert.ok(!engine?.volumeMounts?.some((m) => m.name === "data"), "no data volume in a backup pod");
  assert.ok(!spec.volumes?.some((v) => v.persistentVolumeClaim));
  assert.deepEqual(upload?.args?.slice(0, 2), ["put", "ns/db/uid/backups/b1/db"]);
  assert.equal(
    upload?.securityContext?.runAsUser,
    0,
    "writing to the node's directory needs its permissions",
  );
});

test("a method that compresses itself is asked to, and its stream is stored as written", () => {
  const input = {
    backup: backup("b1", "Completed", "2026-12-03T10:00:00Z"),
    template,
    dataVolumes: new Set(["data"]),
    targetPod: "db-1",
    targetFQDN: "db-1.db-headless.ns.svc.cluster.local",
    key: "k",
    access: repoAccess(fsRepo),
  };
  const asked = (spec: V1PodSpec) => ({
    command: spec.containers[0]?.env?.find((e) => e.name === "TESSERA_BACKUP_COMPRESSION")?.value,
    uploader: spec.containers[1]?.args?.filter(
      (a) => a.startsWith("--compress") || a === "zstd" || a === "none",
    ),
  });
  const compressing: BackupMethod = { ...method, compresses: ["zstd"] };
  assert.deepEqual(asked(backupPod({ ...input, method: compressing }).spec!), {
    command: "zstd",
    uploader: ["--compression", "zstd", "--compressed"],
  });
  assert.deepEqual(
    asked(backupPod({ ...input, method: compressing, compression: "none" }).spec!),
    { command: undefined, uploader: ["--compression", "none"] },
    "nothing to compress: the command is not asked",
  );
  assert.deepEqual(
    asked(backupPod({ ...input, method }).spec!),
    { command: undefined, uploader: ["--compression", "zstd"] },
    "a method that cannot compress has the uploader compress",
  );
});

test("a restored instance fetches then restores before the engine starts; archiving adds a sidecar sharing the outbox", () => {
  const spec = withDataProtection(template, {
    restore: {
      spec: {
        backup: "b1",
        method: "dump",
        repo: "local",
        path: "k",
        sha256: "ab",
        logsPath: "logs",
        pointInTime: "2026-12-03T10:00:00Z",
      },
      method,
      access: repoAccess(fsRepo),
    },
    logArchive: { spec: { repo: "local", path: "logs" }, access: repoAccess(fsRepo) },
  });
  assert.deepEqual(
    spec.initContainers?.map((c) => c.name),
    ["tessera-restore-fetch", "tessera-restore"],
  );
  const fetch = spec.initContainers![0]!;
  assert.ok(fetch.args?.includes("--first-instance-only"));
  assert.deepEqual(fetch.args?.slice(fetch.args.indexOf("--until"), fetch.args.indexOf("--until") + 2), [
    "--until",
    "2026-12-03T10:00:00Z",
  ]);
  const restore = spec.initContainers![1]!;
  assert.ok(
    restore.env?.some((e) => e.name === "TESSERA_RESTORE_DIR" && e.value === "/data/.tessera-restore"),
  );
  assert.ok(spec.containers.some((c) => c.name === "tessera-archiver"));
  assert.ok(spec.containers[0]!.env?.some((e) => e.name === "TESSERA_ARCHIVE_DIR"));
  assert.equal(
    spec.volumes?.filter((v) => v.name === "tessera-repo").length,
    1,
    "the repository is mounted once",
  );
});
