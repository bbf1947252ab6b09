import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { API_VERSION, type Backup, type BackupPolicy, type BackupSchedule, type Cluster } from "@tessera/api";
import { StopWaiting, waitFor } from "@tessera/kube";
import { testRoot } from "@tessera/testing";
import { opsManifest, waitForOps } from "../../../../test/support/ops.js";
import { TestPlatform } from "../../../../test/support/platform.js";
import { KV_ADDON, kvCluster, setTerminationPolicy } from "../fixtures/env.js";

// Backups of the kv test engine (its backup is a note naming the instance read) into a directory
// on the node: scheduled backups with retention, a repository that goes away, the operator
// killed in the middle of a backup and of a restore, an encrypted (and uncompressed) backup
// restored with its key, another key and none.

let platform: TestPlatform;
let ns: string;
let repoDir: string;

const backupRef = (name: string) => ({ apiVersion: API_VERSION, kind: "Backup", namespace: ns, name });
const shortFormRef = (kind: "BackupPolicy" | "BackupSchedule", name: string) => ({
  apiVersion: API_VERSION,
  kind,
  namespace: ns,
  name,
});

async function backupsOf(cluster: string): Promise<Backup[]> {
  const list = await platform.client.list<Backup>(API_VERSION, "Backup", { namespace: ns });
  return list.items.filter((b) => b.spec.clusterName === cluster && !b.metadata.deletionTimestamp);
}

async function waitForBackup(
  name: string,
  phase: "Completed" | "Failed",
  timeoutMs = 90_000,
): Promise<Backup> {
  return waitFor(
    async () => {
      const backup = await platform.client.find<Backup>(backupRef(name));
      if (phase === "Completed" && backup?.status?.phase === "Failed") {
        throw new StopWaiting(new Error(`backup ${name} failed: ${backup.status.message}`));
      }
      return backup?.status?.phase === phase ? backup : undefined;
    },
    { description: `backup ${name} to be ${phase}`, timeoutMs },
  );
}

async function clusterCondition(name: string, type: string) {
  const cluster = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name,
  });
  return cluster.status?.conditions?.find((c) => c.type === type);
}

async function clusterMessage(name: string): Promise<string> {
  const cluster = await platform.client.find<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name,
  });
  return cluster?.status?.message ?? "";
}

async function readFile(pod: string, path: string): Promise<string> {
  const result = await platform.cluster.kubectl(["exec", "-n", ns, pod, "-c", "kv", "--", "cat", path]);
  return result.code === 0 ? result.stdout.trim() : "";
}

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("backup");
  repoDir = mkdtempSync(join(testRoot(), "kv-backups-"));
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: BackupRepo
metadata: { name: kv-local }
spec: { kind: filesystem, filesystem: { path: ${repoDir} } }
`);
  await platform.apply(
    kvCluster(ns, "kvb", {
      replicas: 2,
      cpu: "100m",
      extra: `      parameters: { backup_seconds: "6" }\n  backup: { repo: kv-local }\n`,
    }),
  );
  await platform.waitForPhase(ns, "kvb", "Running");
});

after(async () => {
  await platform?.stop();
});

test("the operator killed during a backup and during a restore resumes both: the backup completes once, the restored cluster holds its data", async () => {
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Backup
metadata: { name: resumed, namespace: ${ns} }
spec: { clusterName: kvb }
`);
  await waitFor(
    async () => (await platform.client.find<Backup>(backupRef("resumed")))?.status?.phase === "Running",
    {
      description: "the backup to run",
      timeoutMs: 30_000,
    },
  );
  await platform.operator.kill();
  await platform.operator.restart();
  const backup = await waitForBackup("resumed", "Completed");
  assert.equal(backup.status?.method, "note");
  assert.equal(backup.status?.engineVersion, "kv-1");
  assert.equal(backup.status?.targetPod, "kvb-kv-1", "read from the secondary");
  assert.match(backup.status?.sha256 ?? "", /^[0-9a-f]{64}$/);

  await platform.apply(
    kvCluster(ns, "kvr", { replicas: 2, cpu: "100m", extra: "  restore: { backup: resumed }\n" }),
  );
  await waitFor(async () => (await platform.instances(ns, "kvr-kv")).length === 2, {
    description: "the restored cluster's pods",
    timeoutMs: 30_000,
  });
  await platform.operator.kill();
  await platform.operator.restart();
  await platform.waitForPhase(ns, "kvr", "Running");
  for (const pod of ["kvr-kv-0", "kvr-kv-1"]) {
    assert.match(
      await readFile(pod, "/data/restored"),
      /^kv backup of kvb-kv-1 at /,
      `${pod} restored every member`,
    );
  }
});

test("Backup and Restore OpsRequests: a backup of the cluster, then a new cluster from it", async () => {
  await platform.apply(opsManifest(ns, "backup-op", "kvb", "Backup"));
  const backedUp = await waitForOps(platform.client, ns, "backup-op", "Succeed", 90_000);
  assert.match(backedUp.status?.steps?.[0]?.message ?? "", /backup backup-op completed/);
  const backup = await waitForBackup("backup-op", "Completed");
  assert.equal(backup.spec.repo, undefined, "the cluster's repository");
  await platform.apply(
    opsManifest(
      ns,
      "restore-op",
      "kvb",
      "Restore",
      "  restore: { backupName: backup-op, clusterName: kvfromop }\n",
    ),
  );
  await waitForOps(platform.client, ns, "restore-op", "Succeed", 180_000);
  assert.match(await readFile("kvfromop-kv-0", "/data/restored"), /^kv backup of kvb-kv-1/);
  const restored = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: "kvfromop",
  });
  assert.equal(restored.spec.backup, undefined, "the source's backup settings stay with it");
  assert.deepEqual(restored.spec.componentSpecs[0]?.parameters, { backup_seconds: "6" });
  await platform.apply(
    opsManifest(
      ns,
      "restore-again",
      "kvb",
      "Restore",
      "  restore: { backupName: backup-op, clusterName: kvfromop }\n",
    ),
  );
  const refused = await waitForOps(platform.client, ns, "restore-again", "Failed", 60_000);
  assert.match(refused.status?.message ?? JSON.stringify(refused.status), /exists already/);
});

test("a repository that went away fails the backup with the reason, the condition and the metric; the next one completes", async () => {
  const moved = `${repoDir}.away`;
  renameSync(repoDir, moved);
  try {
    await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Backup
metadata: { name: nowhere, namespace: ${ns} }
spec: { clusterName: kvb }
`);
    const failed = await waitForBackup("nowhere", "Failed", 150_000);
    assert.match(
      failed.status?.message ?? "",
      /kv-backups-/,
      `the message names the directory: ${failed.status?.message}`,
    );
    await waitFor(async () => (await clusterCondition("kvb", "LastBackupSucceeded"))?.status === "False", {
      description: "the cluster to say its last backup failed",
      timeoutMs: 30_000,
    });
    assert.match(
      await platform.operator.metrics(),
      new RegExp(`tessera_backup_failed_total\\{namespace="${ns}",cluster="kvb"\\} [1-9]`),
    );
  } finally {
    renameSync(moved, repoDir);
  }
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Backup
metadata: { name: back, namespace: ${ns} }
spec: { clusterName: kvb }
`);
  await waitForBackup("back", "Completed");
  await waitFor(async () => (await clusterCondition("kvb", "LastBackupSucceeded"))?.status === "True", {
    description: "the cluster to say its last backup succeeded",
    timeoutMs: 30_000,
  });
});

test("a schedule every 10 s with retention 2 keeps the newest 2 scheduled backups; deleting one removes its data", async () => {
  await platform.apply(
    kvCluster(ns, "kvb", {
      replicas: 2,
      cpu: "100m",
      extra: `      parameters: { backup_seconds: "0" }\n  backup: { repo: kv-local, schedule: "*/10 * * * * *", retention: { count: 2 } }\n`,
    }),
  );
  const scheduled = async () =>
    (await backupsOf("kvb")).filter((b) => b.metadata.labels?.["tessera.dev/scheduled"] === "true");
  const completedNames = new Set<string>();
  await waitFor(
    async () => {
      for (const b of await scheduled())
        if (b.status?.phase === "Completed") completedNames.add(b.metadata.name!);
      return completedNames.size >= 4;
    },
    { description: "four scheduled backups to complete", timeoutMs: 120_000, intervalMs: 500 },
  );
  const kept = await waitFor(
    async () => {
      const completed = (await scheduled()).filter((b) => b.status?.phase === "Completed");
      return completed.length === 2 ? completed : undefined;
    },
    { description: "retention to keep two", timeoutMs: 30_000 },
  );
  const newest = [...completedNames].sort().slice(-3);
  for (const b of kept)
    assert.ok(newest.includes(b.metadata.name!), `${b.metadata.name} is among the newest`);
  const cluster = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: "kvb",
  });
  assert.ok(cluster.status?.backup?.nextScheduleTime, "the next run is announced");
  assert.ok(cluster.status?.backup?.recoverableRange?.from, "the recoverable range is known");
  const deletedNames = [...completedNames].filter((name) => !kept.some((b) => b.metadata.name === name));
  const stored = () => readdirSync(join(repoDir, ns, "kvb", cluster.metadata.uid!, "backups"));
  await waitFor(() => deletedNames.every((name) => !stored().includes(name)), {
    description: `the data of ${deletedNames.join(", ")} to be deleted`,
    timeoutMs: 30_000,
  });

  const policy = await platform.client.get<BackupPolicy>(shortFormRef("BackupPolicy", "kvb"));
  assert.deepEqual(policy.spec, { clusterName: "kvb", repo: "kv-local", retention: { count: 2 } });
  assert.equal(
    policy.metadata.ownerReferences?.[0]?.uid,
    cluster.metadata.uid,
    "the cluster owns its policy",
  );
  const schedule = await platform.client.get<BackupSchedule>(shortFormRef("BackupSchedule", "kvb"));
  assert.deepEqual(schedule.spec, { policy: "kvb", schedule: "*/10 * * * * *" });
  assert.equal(schedule.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");

  await platform.apply(
    kvCluster(ns, "kvb", {
      replicas: 2,
      cpu: "100m",
      extra: `      parameters: { backup_seconds: "0" }\n  backup: { repo: kv-local }\n`,
    }),
  );
  await waitFor(async () => !(await platform.client.find(shortFormRef("BackupSchedule", "kvb"))), {
    description: "the schedule to go with spec.backup.schedule",
    timeoutMs: 30_000,
  });
  const followed = await platform.client.get<BackupPolicy>(shortFormRef("BackupPolicy", "kvb"));
  assert.equal(followed.spec.retention, undefined, "the policy follows the short form");
});

test("a BackupPolicy and BackupSchedule made by hand: scheduled backups under the policy's retention, suspend, a missing policy said in status, bad ones refused naming the field", async () => {
  const refusal = async (manifest: string) => {
    const result = await platform.cluster.kubectl(["apply", "-f", "-"], { input: manifest });
    assert.notEqual(result.code, 0, `refused: ${manifest}`);
    return result.stderr;
  };
  assert.match(
    await refusal(`apiVersion: tessera.dev/v1alpha1
kind: BackupPolicy
metadata: { name: nowhere, namespace: ${ns} }
spec: { clusterName: kvb, repo: no-such-repo }
`),
    /spec\.repo: backup repository "no-such-repo" does not exist/,
  );
  assert.match(
    await refusal(`apiVersion: tessera.dev/v1alpha1
kind: BackupPolicy
metadata: { name: ghost, namespace: ${ns} }
spec: { clusterName: ghost, repo: kv-local }
`),
    /spec\.clusterName: cluster "ghost" does not exist/,
  );
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: BackupPolicy
metadata: { name: kvb-often, namespace: ${ns} }
spec: { clusterName: kvb, repo: kv-local, retention: { count: 1 } }
`);
  assert.match(
    await refusal(`apiVersion: tessera.dev/v1alpha1
kind: BackupSchedule
metadata: { name: kvb-bad, namespace: ${ns} }
spec: { policy: kvb-often, schedule: "every five seconds" }
`),
    /spec\.schedule: "every five seconds" is not a cron expression/,
  );
  assert.match(
    await refusal(`apiVersion: tessera.dev/v1alpha1
kind: BackupSchedule
metadata: { name: kvb-bad, namespace: ${ns} }
spec: { policy: kvb-often, schedule: "* * * * *", method: dump }
`),
    /spec\.method: component kv has no backup method dump/,
  );
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: BackupSchedule
metadata: { name: kvb-often, namespace: ${ns} }
spec: { policy: kvb-often, schedule: "*/5 * * * * *" }
`);
  const byHand = async () =>
    (await backupsOf("kvb")).filter(
      (b) => b.metadata.labels?.["tessera.dev/backup-schedule"] === "kvb-often",
    );
  const seen = new Set<string>();
  await waitFor(
    async () => {
      for (const b of await byHand()) if (b.status?.phase === "Completed") seen.add(b.metadata.name!);
      return seen.size >= 2;
    },
    { description: "two backups of the schedule to complete", timeoutMs: 90_000, intervalMs: 500 },
  );
  for (const name of seen) {
    const backup = await platform.client.get<Backup>(backupRef(name));
    assert.equal(backup.spec.policy, "kvb-often");
    assert.equal(backup.status?.repo, "kv-local", "the policy's repository");
  }
  await waitFor(async () => (await byHand()).filter((b) => b.status?.phase === "Completed").length === 1, {
    description: "the policy's retention to keep one",
    timeoutMs: 30_000,
  });
  await platform.client.patch(
    shortFormRef("BackupSchedule", "kvb-often"),
    { spec: { suspend: true } },
    "merge",
  );
  const suspended = await waitFor(
    async () => {
      const s = await platform.client.get<BackupSchedule>(shortFormRef("BackupSchedule", "kvb-often"));
      return s.status?.conditions?.find((c) => c.type === "Ready")?.reason === "Suspended" ? s : undefined;
    },
    { description: "the schedule to say it is suspended", timeoutMs: 30_000 },
  );
  assert.equal(suspended.status?.nextScheduleTime, undefined, "no next run while suspended");
  await platform.client.delete(shortFormRef("BackupPolicy", "kvb-often"));
  await waitFor(
    async () => {
      const s = await platform.client.get<BackupSchedule>(shortFormRef("BackupSchedule", "kvb-often"));
      const ready = s.status?.conditions?.find((c) => c.type === "Ready");
      return ready?.reason === "PolicyNotFound" && /kvb-often does not exist/.test(ready.message);
    },
    { description: "the schedule to say its policy is gone", timeoutMs: 30_000 },
  );
  await platform.client.delete(shortFormRef("BackupSchedule", "kvb-often"));
});

test("a WipeOut cluster takes its backups and their data with it; under Delete they stay", async () => {
  await platform.apply(
    kvCluster(ns, "kvkeep", { replicas: 1, cpu: "100m", extra: "  backup: { repo: kv-local }\n" }),
  );
  await platform.apply(
    kvCluster(ns, "kvwipe", { replicas: 1, cpu: "100m", extra: "  backup: { repo: kv-local }\n" }),
  );
  await Promise.all([
    platform.waitForPhase(ns, "kvkeep", "Running"),
    platform.waitForPhase(ns, "kvwipe", "Running"),
  ]);
  for (const cluster of ["kvkeep", "kvwipe"]) {
    await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Backup
metadata: { name: ${cluster}-once, namespace: ${ns} }
spec: { clusterName: ${cluster} }
`);
  }
  await Promise.all([waitForBackup("kvkeep-once", "Completed"), waitForBackup("kvwipe-once", "Completed")]);
  await setTerminationPolicy(platform, ns, "kvwipe", "WipeOut");
  await waitFor(
    async () =>
      (await platform.client.get<Backup>(backupRef("kvwipe-once"))).metadata.ownerReferences?.length === 1,
    { description: "the WipeOut cluster to own its backup", timeoutMs: 30_000 },
  );
  const wiped = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: "kvwipe",
  });
  for (const cluster of ["kvkeep", "kvwipe"]) {
    await platform.client.delete({ apiVersion: API_VERSION, kind: "Cluster", namespace: ns, name: cluster });
  }
  await waitFor(async () => !(await platform.client.find<Backup>(backupRef("kvwipe-once"))), {
    description: "the WipeOut cluster's backup to be deleted",
    timeoutMs: 90_000,
  });
  assert.deepEqual(
    readdirSync(join(repoDir, ns, "kvwipe", wiped.metadata.uid!, "backups")),
    [],
    "its data is gone",
  );
  assert.equal((await platform.client.get<Backup>(backupRef("kvkeep-once"))).status?.phase, "Completed");
});

test("an encrypted backup, uncompressed as its cluster asks, is stored unreadable, restores with its key, and says why it does not with another key or none", async () => {
  const keySecret = (key: string) => `apiVersion: v1
kind: Secret
metadata: { name: kv-key, namespace: ${ns} }
stringData: { key: ${key} }
`;
  await platform.apply(keySecret("first-key"));
  await platform.apply(
    kvCluster(ns, "kvenc", {
      replicas: 1,
      cpu: "100m",
      extra: "  backup: { repo: kv-local, encryptionKeySecret: kv-key, compression: none }\n",
    }),
  );
  await platform.waitForPhase(ns, "kvenc", "Running");
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Backup
metadata: { name: sealed, namespace: ${ns} }
spec: { clusterName: kvenc }
`);
  const backup = await waitForBackup("sealed", "Completed");
  assert.equal(backup.status?.encrypted, true);
  assert.equal(backup.status?.compression, "none");
  const stored = readFileSync(join(repoDir, backup.status!.path!));
  assert.ok(stored.length > 16, "the IV and the data");
  const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
  for (const at of [0, 16]) {
    assert.ok(!stored.subarray(at, at + 4).equals(zstdMagic), `no zstd frame at byte ${at}`);
  }
  assert.ok(!stored.includes("kv backup of"), "the note is not stored in the clear");

  const restoreTo = (name: string) =>
    platform.apply(
      kvCluster(ns, name, { replicas: 1, cpu: "100m", extra: "  restore: { backup: sealed }\n" }),
    );
  await restoreTo("kvdec");
  await platform.waitForPhase(ns, "kvdec", "Running");
  assert.match(await readFile("kvdec-kv-0", "/data/restored"), /^kv backup of kvenc-kv-0 at /);

  await platform.apply(keySecret("another-key"));
  await restoreTo("kvwrongkey");
  await waitFor(
    async () =>
      /the encryption key does not decrypt the stored data/.test(await clusterMessage("kvwrongkey")),
    { description: "the restore with another key to say so", timeoutMs: 60_000 },
  );

  await platform.cluster.kubectl(["delete", "secret", "kv-key", "-n", ns]);
  await restoreTo("kvnokey");
  await waitFor(
    async () =>
      /backup sealed is encrypted with the key in Secret kv-key, which does not exist/.test(
        await clusterMessage("kvnokey"),
      ),
    { description: "the restore without its key to say so", timeoutMs: 60_000 },
  );
  await platform.apply(keySecret("first-key"));
  await platform.waitForPhase(ns, "kvnokey", "Running");
  assert.match(await readFile("kvnokey-kv-0", "/data/restored"), /^kv backup of kvenc-kv-0 at /);
  await platform.client.delete({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: "kvwrongkey",
  });
});
