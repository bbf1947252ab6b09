import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { API_VERSION, type Backup, type Cluster } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { S3Server } from "@tessera/object-store";
import { testRoot } from "@tessera/testing";
import { TestPlatform } from "../support/platform.js";
import { podTarget, postgresqlManifest, query, serviceTarget } from "../support/postgresql.js";

// Backup and restore of a real PostgreSQL cluster: a base backup to a directory on the node with
// WAL archiving, restored to a moment between two batches of writes (point-in-time recovery) as
// a new three-instance cluster, and to a moment after the last transaction archived; and a base
// backup to a real S3-compatible server (Swift), restored as a new cluster.

const ADDON = fileURLToPath(new URL("../../addons/postgresql/", import.meta.url));
const SOURCE = "pgsrc";

let platform: TestPlatform;
let s3: S3Server;
let ns: string;

function clusterManifest(name: string, replicas: number, extra: string): string {
  return postgresqlManifest(ns, name, replicas, extra);
}

async function getCluster(name: string): Promise<Cluster> {
  return platform.client.get<Cluster>({ apiVersion: API_VERSION, kind: "Cluster", namespace: ns, name });
}

async function takeBackup(name: string, repo: string): Promise<Backup> {
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Backup
metadata: { name: ${name}, namespace: ${ns} }
spec: { clusterName: ${SOURCE}, repo: ${repo} }
`);
  return waitFor(
    async () => {
      const backup = await platform.client.get<Backup>({
        apiVersion: API_VERSION,
        kind: "Backup",
        namespace: ns,
        name,
      });
      if (backup.status?.phase === "Failed")
        throw new Error(`backup ${name} failed: ${backup.status.message}`);
      return backup.status?.phase === "Completed" ? backup : undefined;
    },
    { description: `backup ${name} to complete`, timeoutMs: 180_000 },
  );
}

async function primaryTarget(cluster: string) {
  const component = await platform.component(ns, `${cluster}-postgresql`);
  return podTarget(platform.client, ns, cluster, component.status!.ha!.primary!);
}

/** The source's current time, RFC 3339 in UTC with microseconds, as a restore names a moment. */
async function now(): Promise<string> {
  const [{ t }] = (await query<{ t: string }>(
    await serviceTarget(platform.client, ns, SOURCE, "rw"),
    `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as t`,
  )) as [{ t: string }];
  return t;
}

/**
 * Switches the source's WAL segment (as a user wanting the last writes archived now, not after
 * archive_timeout, does) and waits until it is archived and the recoverable range passes t.
 */
async function archivedPast(t: string): Promise<Cluster> {
  const [{ segment }] = (await query<{ segment: string }>(
    await serviceTarget(platform.client, ns, SOURCE, "rw"),
    "select pg_walfile_name(pg_switch_wal()) as segment",
  )) as [{ segment: string }];
  return waitFor(
    async () => {
      const cluster = await getCluster(SOURCE);
      const archived = cluster.status?.backup?.logArchive?.lastArchived ?? "";
      const to = cluster.status?.backup?.recoverableRange?.to;
      return archived >= segment && to && Date.parse(to) > Date.parse(t) ? cluster : undefined;
    },
    { description: `segment ${segment} to be archived`, timeoutMs: 120_000 },
  );
}

async function ids(cluster: string, table: string): Promise<number[]> {
  const rows = await query<{ id: number }>(
    await primaryTarget(cluster),
    `select id from ${table} order by id`,
  );
  return rows.map((r) => Number(r.id));
}

before(async () => {
  const [started, server] = await Promise.allSettled([
    TestPlatform.start({ addons: [ADDON] }),
    S3Server.start({ parentDir: testRoot() }),
  ]);
  if (started.status === "fulfilled") platform = started.value;
  if (server.status === "fulfilled") s3 = server.value;
  if (started.status === "rejected") throw started.reason;
  if (server.status === "rejected") throw server.reason;
  ns = await platform.cluster.createNamespace("pgbackup");
  const dir = mkdtempSync(join(testRoot(), "backups-"));
  await s3.createBucket("pgbackups");
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: BackupRepo
metadata: { name: local }
spec: { kind: filesystem, filesystem: { path: ${dir} } }
---
apiVersion: v1
kind: Secret
metadata: { name: s3-keys, namespace: ${ns} }
stringData:
  accessKeyId: "${s3.credentials.accessKeyId}"
  secretAccessKey: "${s3.credentials.secretAccessKey}"
---
apiVersion: tessera.dev/v1alpha1
kind: BackupRepo
metadata: { name: swift }
spec:
  kind: s3
  s3:
    endpoint: ${s3.endpoint}
    bucket: pgbackups
    prefix: tessera
    region: ${s3.region}
    credentialsSecretRef: { namespace: ${ns}, name: s3-keys }
`);
  await platform.apply(clusterManifest(SOURCE, 2, "  backup: { repo: local, pointInTime: true }\n"));
  await platform.waitForPhase(ns, SOURCE, "Running", 240_000);
});

after(async () => {
  await Promise.all([platform?.stop(), s3?.stop()]);
});

test("point-in-time recovery: a new three-instance cluster restored to T holds exactly the rows committed before T", async () => {
  const rw = () => serviceTarget(platform.client, ns, SOURCE, "rw");
  await query(
    await rw(),
    "create table events (id bigint primary key, at timestamptz not null default clock_timestamp())",
  );
  await query(await rw(), "insert into events (id) select generate_series(1, 100)");
  const backup = await takeBackup("full", "local");
  assert.equal(backup.status?.method, "basebackup");
  assert.ok((backup.status?.sizeBytes ?? 0) > 0, "the backup stored data");
  assert.match(backup.status?.sha256 ?? "", /^[0-9a-f]{64}$/);
  assert.match(backup.status?.startPosition ?? "", /^[0-9A-F]+\/[0-9A-F]+$/);

  await query(await rw(), "insert into events (id) select generate_series(101, 200)");
  const t = await now();
  await query(await rw(), "insert into events (id) select generate_series(201, 300)");
  await query(await rw(), "drop table events");
  const source = await archivedPast(t);
  assert.equal(source.status?.conditions?.find((c) => c.type === "LogArchiving")?.status, "True");
  assert.equal(source.status?.conditions?.find((c) => c.type === "LastBackupSucceeded")?.status, "True");

  await platform.apply(clusterManifest("pgpitr", 3, `  restore: { backup: full, pointInTime: "${t}" }\n`));
  await platform.waitForPhase(ns, "pgpitr", "Running", 300_000);
  const restored = await ids("pgpitr", "events");
  assert.deepEqual(
    restored,
    Array.from({ length: 200 }, (_, i) => i + 1),
    "rows 1–200 (before T), none after",
  );
  const instances = await platform.instances(ns, "pgpitr-postgresql");
  assert.equal(instances.length, 3);
  const [{ standbys }] = (await query<{ standbys: string }>(
    await primaryTarget("pgpitr"),
    "select count(*) as standbys from pg_stat_replication",
  )) as [{ standbys: string }];
  assert.equal(Number(standbys), 2, "both other instances stream from the restored primary");
});

test("a point in time after the last transaction in the archived WAL restores everything committed before it", async () => {
  const rw = () => serviceTarget(platform.client, ns, SOURCE, "rw");
  await query(await rw(), "create table late (id bigint primary key)");
  await query(await rw(), "insert into late select generate_series(1, 50)");
  // No transaction ends after t: PostgreSQL alone would reach the end of the WAL before it knew
  // it had reached t.
  const t = await now();
  await archivedPast(t);
  await platform.apply(clusterManifest("pgafter", 1, `  restore: { backup: full, pointInTime: "${t}" }\n`));
  await platform.waitForPhase(ns, "pgafter", "Running", 300_000);
  assert.deepEqual(
    await ids("pgafter", "late"),
    Array.from({ length: 50 }, (_, i) => i + 1),
    "every row committed before t",
  );
  const [{ events }] = (await query<{ events: string | null }>(
    await primaryTarget("pgafter"),
    "select to_regclass('events')::text as events",
  )) as [{ events: string | null }];
  assert.equal(events, null, "the table dropped before t is gone");
});

test("a backup to an S3-compatible server restores into a new cluster, and deleting the Backup removes its data", async () => {
  const rw = () => serviceTarget(platform.client, ns, SOURCE, "rw");
  await query(await rw(), "create table kept (id bigint primary key)");
  await query(await rw(), "insert into kept select generate_series(1, 50)");
  const backup = await takeBackup("to-s3", "swift");
  assert.match(backup.status?.location ?? "", /^s3:\/\/pgbackups\/tessera at /);
  await platform.apply(clusterManifest("pgfroms3", 1, "  restore: { backup: to-s3 }\n"));
  await platform.waitForPhase(ns, "pgfroms3", "Running", 300_000);
  assert.deepEqual(
    await ids("pgfroms3", "kept"),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  assert.ok((await s3.listObjects("pgbackups")).some((key) => key.includes("/backups/to-s3/")));
  await platform.client.delete({ apiVersion: API_VERSION, kind: "Backup", namespace: ns, name: "to-s3" });
  await waitFor(
    async () => !(await s3.listObjects("pgbackups")).some((key) => key.includes("/backups/to-s3/")),
    {
      description: "the backup's objects to be deleted",
      timeoutMs: 60_000,
    },
  );
});
