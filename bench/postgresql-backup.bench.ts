// Backup and restore benchmark for PostgreSQL: a database of --size-mb (default 1024 MiB) is backed
// up by a Backup (pg_basebackup streamed through tessera-repo into a directory repository) and,
// in the same run, from the same instance into the same directory by two baselines: plain
// `pg_basebackup -Ft -X fetch` (uncompressed), and the same piped through `zstd -1 -T0` as
// Tessera compresses. Then restored into a new one-instance cluster, next to plain restores of
// both baselines (unpack, start, accept connections): the restore of the data alone (Tessera's
// fetch, as it reports its own time, next to each unpack) and the whole restore to Running. Also
// the time of a point-in-time restore.
// Each is measured --rounds times (default 3), alternating with the others, and the tables show
// medians: on a small machine one measurement moves by a third from one moment to the next.
// Ratios are plain time over Tessera time: 1 means as fast as the plain tools, more is faster.
// The stages of Tessera's backup and restore are printed too, as seen by polling their pods.
//
// Where the time went (1 GiB of the bench's rows, 2 cores): `zstd -1 -T0` costs 2.2 s of CPU
// per GiB; when Node carried every byte (FIFO into Node, into zstd, back into Node for SHA-256,
// to the file) `tessera-repo put` spent another 5 s of CPU on the same two cores as the server
// and pg_basebackup, and `get` wrote the decompressed GiB itself (14 s under load). zstd now
// reads the FIFO and writes the restored file through their descriptors: put 4 s, get 3 s. A
// fetch from a directory still read and piped every stored byte to zstd (2 s of CPU for 523 MiB,
// 5 s under the restore's load); zstd now reads the stored file too, hashed beside it: 1.8 s.
//
// Usage: npm run bench:postgresql-backup [-- --size-mb 1024] [--rounds 3] [--compression zstd|none]
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { API_VERSION, labels, type Backup, type Cluster } from "@tessera/api";
import { freePort, runCommand } from "@tessera/base";
import { StopWaiting, waitFor } from "@tessera/kube";
import { TestPlatform } from "../test/support/platform.js";
import { podTarget, query, serviceTarget, type PgTarget } from "../test/support/postgresql.js";
import pg from "pg";
import { printTable } from "./report.js";

const { values } = parseArgs({
  options: {
    "size-mb": { type: "string", default: "1024" },
    rounds: { type: "string", default: "3" },
    compression: { type: "string", default: "zstd" },
  },
});
const sizeMb = Number(values["size-mb"]);
const rounds = Number(values.rounds);
const ADDON = fileURLToPath(new URL("../addons/postgresql/", import.meta.url));
const BIN = "/usr/lib/postgresql/15/bin";
/**
 * Run in a restored data directory by the plain restores: the instances keep their configuration
 * outside it, so a plain restore needs its own.
 */
const PLAIN_CONFIG =
  "echo 'local all all trust' > pg_hba.conf && echo 'max_connections = 200' > postgresql.conf && rm -f standby.signal";
/** Rows of about 1 KiB of incompressible text each. */
const ROW_BYTES = 1024;

function cluster(namespace: string, name: string, replicas: number, extra = ""): string {
  const storage = Math.ceil((sizeMb * 3) / 1024) + 1;
  return `apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  clusterDef: postgresql
  topology: replication
  componentSpecs:
    - name: postgresql
      replicas: ${replicas}
      resources: { requests: { cpu: 50m, memory: 256Mi }, limits: { cpu: "2", memory: 1Gi } }
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: ${storage}Gi } } }
${extra}`;
}

async function asPostgres(args: string[], timeoutMs = 1_800_000): Promise<string> {
  const result = await runCommand("runuser", ["-u", "postgres", "--", ...args], { timeoutMs });
  if (result.code !== 0) throw new Error(`${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

type PodCheck = [stage: string, reached: (pod: V1Pod) => boolean];

/** The middle value (the mean of the middle two for an even count): one slow moment moves it little. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** What each measurement is kept for: Tessera, and the baselines on the host and in a pod. */
type Measured = "tessera" | "plain" | "zstd" | "plainPod" | "zstdPod";

/** A plain restore: to accepting connections, and its unpack alone. */
interface Timed {
  ms: number;
  unpackMs: number;
}

/** A container (or init container) that started, whether it still runs or ended. */
const started =
  (name: string) =>
  (pod: V1Pod): boolean => {
    const state = [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ].find((s) => s.name === name)?.state;
    return Boolean(state?.running || state?.terminated);
  };
const ended =
  (name: string) =>
  (pod: V1Pod): boolean =>
    Boolean(
      [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find(
        (s) => s.name === name,
      )?.state?.terminated,
    );

/**
 * Polls a pod until stopped and notes when each stage was first seen, in ms after `since`: the
 * stages of a backup or restore, to the poll interval (pod timestamps count whole seconds only).
 */
function trackPod(
  platform: TestPlatform,
  namespace: string,
  name: string,
  since: number,
  checks: PodCheck[],
): () => Promise<string> {
  const seen = new Map<string, number>();
  let stopped = false;
  const polling = (async () => {
    while (!stopped) {
      const pod = await platform.client
        .get<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace, name })
        .catch(() => undefined);
      for (const [stage, reached] of checks) {
        if (pod && !seen.has(stage) && reached(pod)) seen.set(stage, Date.now() - since);
      }
      await sleep(100);
    }
  })();
  return async () => {
    stopped = true;
    await polling;
    return checks
      .map(
        ([stage]) => `${stage} ${seen.has(stage) ? `${(seen.get(stage)! / 1000).toFixed(1)} s` : "unseen"}`,
      )
      .join(", ");
  };
}

async function backupCompleted(platform: TestPlatform, namespace: string, name: string): Promise<Backup> {
  return waitFor(
    async () => {
      const backup = await platform.client.get<Backup>({
        apiVersion: API_VERSION,
        kind: "Backup",
        namespace,
        name,
      });
      if (backup.status?.phase === "Failed") {
        throw new StopWaiting(new Error(`backup failed: ${backup.status.message}`));
      }
      return backup.status?.phase === "Completed" ? backup : undefined;
    },
    { description: `backup ${name}`, timeoutMs: 3_600_000, intervalMs: 200 },
  );
}

let podRuns = 0;

/**
 * Runs a script in a one-off pod on the playground's node, as a Job of the user's would: the time
 * from its creation to its end. Its processes then get the CPU share a pod gets, as the backup
 * pod's do, where a host process competes on its own with every pod together.
 */
async function timedPod(
  platform: TestPlatform,
  namespace: string,
  name: string,
  script: string,
  hostDir: string,
  user?: { uid: number; gid: number },
): Promise<number> {
  await settleDisk();
  const begin = Date.now();
  // Each run its own pod: the last one of that name may still be going.
  const pod = `${name}-${++podRuns}`;
  await platform.apply(`apiVersion: v1
kind: Pod
metadata: { name: ${pod}, namespace: ${namespace} }
spec:
  restartPolicy: Never${user ? `\n  securityContext: { runAsUser: ${user.uid}, runAsGroup: ${user.gid} }` : ""}
  containers:
    - name: run
      image: postgres:15
      command: ["bash", "-o", "pipefail", "-c", ${JSON.stringify(script)}]
      env:
        - name: PGPASSWORD
          valueFrom: { secretKeyRef: { name: src-postgresql-account-replicator, key: password } }
      volumeMounts: [{ name: out, mountPath: /out }]
  volumes: [{ name: out, hostPath: { path: ${hostDir} } }]
`);
  await waitFor(
    async () => {
      const status = (
        await platform.client.get<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace, name: pod })
      ).status;
      if (status?.phase === "Failed") throw new StopWaiting(new Error(`${pod} failed`));
      return status?.phase === "Succeeded";
    },
    { description: `pod ${pod}`, timeoutMs: 3_600_000, intervalMs: 200 },
  );
  const ms = Date.now() - begin;
  console.log(`${name} (in a pod): ${ms} ms`);
  await platform.client.delete({ apiVersion: "v1", kind: "Pod", namespace, name: pod });
  return ms;
}

/** Writes out what earlier steps left in the page cache: no measurement pays for another's writes. */
async function settleDisk(): Promise<void> {
  await runCommand("sync", [], { timeoutMs: 600_000 });
}

/** Closes the current WAL segment on the primary and waits until the cluster's archive has it. */
async function archiveCaughtUp(platform: TestPlatform, namespace: string, rw: PgTarget): Promise<void> {
  const [{ segment }] = (await query<{ segment: string }>(
    rw,
    "select pg_walfile_name(pg_switch_wal()) as segment",
  )) as [{ segment: string }];
  await waitFor(
    async () => {
      const src = await platform.client.get<Cluster>({
        apiVersion: API_VERSION,
        kind: "Cluster",
        namespace,
        name: "src",
      });
      return (src.status?.backup?.logArchive?.lastArchived ?? "") >= segment;
    },
    { description: `segment ${segment} archived`, timeoutMs: 1_800_000 },
  );
}

async function main(): Promise<void> {
  const platform = await TestPlatform.start({ addons: [ADDON] });
  const repoDir = mkdtempSync(join(tmpdir(), "tessera-bench-backups-"));
  const plainDir = mkdtempSync(join(tmpdir(), "tessera-bench-plain-"));
  const uid = Number((await runCommand("id", ["-u", "postgres"])).stdout);
  const gid = Number((await runCommand("id", ["-g", "postgres"])).stdout);
  chownSync(plainDir, uid, gid);
  try {
    const ns = await platform.cluster.createNamespace("bench-backup");
    await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: BackupRepo
metadata: { name: bench }
spec: { kind: filesystem, filesystem: { path: ${repoDir} } }
`);
    await platform.apply(
      cluster(
        ns,
        "src",
        2,
        `  backup: { repo: bench, pointInTime: true, compression: ${values.compression} }\n`,
      ),
    );
    await platform.waitForPhase(ns, "src", "Running", 300_000);
    const rows = Math.round((sizeMb * 1024 * 1024) / ROW_BYTES);
    console.log(`loading ${rows} rows (about ${sizeMb} MiB)`);
    await query(
      await serviceTarget(platform.client, ns, "src", "rw"),
      "create table big (id bigint primary key, payload text)",
    );
    // Without the helpers' short query timeout, and going on where it stopped when the connection
    // is lost: on a busy machine the primary may restart or fail over.
    await waitFor(
      async () => {
        const primary = await serviceTarget(platform.client, ns, "src", "rw").catch(() => undefined);
        if (!primary) return false;
        const loader = new pg.Client({ ...primary, database: "postgres", connectionTimeoutMillis: 5000 });
        loader.on("error", () => undefined);
        try {
          await loader.connect();
          const done = Number(
            (await loader.query<{ n: string }>("select coalesce(max(id), 0) as n from big")).rows[0]!.n,
          );
          for (let from = done + 1; from <= rows; from += 10_000) {
            const to = Math.min(rows, from + 9_999);
            await loader.query(
              `insert into big select g, (select string_agg(md5(g::text || i::text), '') from generate_series(1, 30) i) from generate_series(${from}, ${to}) g`,
            );
          }
          // Settled now rather than by autovacuum during a measurement: its hint bits and
          // freezing write the table again, through the WAL, the archive and the replica.
          await loader.query("vacuum (freeze, analyze) big");
          await loader.query("checkpoint");
          return true;
        } catch (error) {
          console.log(`loading interrupted (${(error as Error).message}); going on`);
          return false;
        } finally {
          await loader.end().catch(() => undefined);
        }
      },
      { description: "the rows loaded", timeoutMs: 3_600_000, intervalMs: 2000 },
    );
    const rw = await serviceTarget(platform.client, ns, "src", "rw");
    const [{ size }] = (await query<{ size: string }>(rw, "select pg_database_size('postgres') as size")) as [
      { size: string },
    ];

    // The load's WAL is archived, replayed and checkpointed by the replica before anything is
    // timed: every measurement then runs on a machine doing nothing else.
    console.log("waiting for the archive and the replica to catch up");
    await archiveCaughtUp(platform, ns, rw);
    const [{ lsn }] = (await query<{ lsn: string }>(rw, "select pg_current_wal_lsn()::text as lsn")) as [
      { lsn: string },
    ];
    await waitFor(
      async () => {
        const pods = await platform.client.list<V1Pod>("v1", "Pod", {
          namespace: ns,
          labelSelector: `${labels.role}=secondary`,
        });
        for (const pod of pods.items) {
          const replica = await podTarget(platform.client, ns, "src", pod.metadata!.name!);
          const [{ behind }] = (await query<{ behind: boolean }>(
            replica,
            `select pg_last_wal_replay_lsn() < '${lsn}'::pg_lsn as behind`,
          )) as [{ behind: boolean }];
          if (behind) return false;
          // The replayed pages are written out now, not by the first backup's checkpoint.
          await query(replica, "checkpoint");
        }
        return pods.items.length > 0;
      },
      { description: "the replica replayed the load", timeoutMs: 1_800_000, intervalMs: 1000 },
    );

    // The replica a Backup reads (preferSecondary) is the one every baseline reads.
    const secondaries = await platform.client.list<V1Pod>("v1", "Pod", {
      namespace: ns,
      labelSelector: `${labels.role}=secondary`,
    });
    const replica = await podTarget(platform.client, ns, "src", secondaries.items[0]!.metadata!.name!);
    const replicationPassword = Buffer.from(
      (
        await platform.client.get<V1Secret>({
          apiVersion: "v1",
          kind: "Secret",
          namespace: ns,
          name: "src-postgresql-account-replicator",
        })
      ).data!.password!,
      "base64",
    ).toString("utf8");
    const connect = [
      "-h",
      replica.host,
      "-U",
      "replicator",
      "-X",
      "fetch",
      "--checkpoint=fast",
      "--no-manifest",
    ];
    const env = { ...process.env, PGPASSWORD: replicationPassword };
    const timed = async (what: string, args: string[]): Promise<number> => {
      await settleDisk();
      const begin = Date.now();
      const result = await runCommand(args[0]!, args.slice(1), { env, timeoutMs: 3_600_000 });
      if (result.code !== 0) throw new Error(`${what}: ${result.stderr}`);
      const ms = Date.now() - begin;
      console.log(`${what}: ${ms} ms`);
      return ms;
    };
    const basebackup = `${BIN}/pg_basebackup ${connect.join(" ")} -Ft -D -`;
    // The stages come first: whichever backup reads the replica first pays for its restartpoint.
    await timed("stage: pg_basebackup to /dev/null", ["bash", "-c", `${basebackup} >/dev/null`]);
    await timed("stage: pg_basebackup | zstd -1 -T0 to /dev/null", [
      "bash",
      "-o",
      "pipefail",
      "-c",
      `${basebackup} | zstd -q -1 -T0 >/dev/null`,
    ]);

    const plainFile = join(plainDir, "plain", "base.tar");
    const zstdFile = join(plainDir, "base.tar.zst");
    const podBasebackup = `pg_basebackup ${connect.join(" ")} -Ft`;
    const backups: Record<Measured, number[]> = {
      tessera: [],
      plain: [],
      zstd: [],
      plainPod: [],
      zstdPod: [],
    };
    let backup: Backup | undefined;
    for (let round = 1; round <= rounds; round++) {
      console.log(`backups, round ${round} of ${rounds}`);
      await settleDisk();
      const start = Date.now();
      const name = `full-${round}`;
      const backupStages = trackPod(platform, ns, `${name}-backup`, start, [
        ["pod created", () => true],
        ["backup command started", started("backup")],
        ["stored", ended("upload")],
      ]);
      await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Backup
metadata: { name: ${name}, namespace: ${ns} }
spec: { clusterName: src }
`);
      const completed = await backupCompleted(platform, ns, name);
      backup ??= completed;
      const ms = Date.now() - start;
      backups.tessera.push(ms);
      console.log(`tessera backup: ${ms} ms, ${completed.status?.sizeBytes} bytes stored`);
      console.log(`  stages: ${await backupStages()}, Completed ${(ms / 1000).toFixed(1)} s`);

      // pg_basebackup into a directory syncs what it wrote, as the repository does.
      rmSync(join(plainDir, "plain"), { recursive: true, force: true });
      backups.plain.push(
        await timed("plain pg_basebackup", [
          `${BIN}/pg_basebackup`,
          ...connect,
          "-D",
          join(plainDir, "plain"),
          "-Ft",
        ]),
      );
      chownSync(join(plainDir, "plain"), uid, gid);
      chownSync(plainFile, uid, gid);
      backups.zstd.push(
        await timed("pg_basebackup | zstd -1 -T0", [
          "bash",
          "-o",
          "pipefail",
          "-c",
          `${basebackup} | zstd -q -1 -T0 >${zstdFile} && sync ${zstdFile}`,
        ]),
      );
      chownSync(zstdFile, uid, gid);
      rmSync(join(plainDir, "pod"), { recursive: true, force: true });
      backups.plainPod.push(
        await timedPod(platform, ns, "plain-basebackup", `${podBasebackup} -D /out/pod`, plainDir),
      );
      backups.zstdPod.push(
        await timedPod(
          platform,
          ns,
          "zstd-basebackup",
          `${podBasebackup} -D - | zstd -q -1 -T0 >/out/pod.tar.zst && sync /out/pod.tar.zst`,
          plainDir,
        ),
      );
    }

    /**
     * Unpacks with `unpack` (run in the data directory), starts a server on it, stops it: the time
     * to accepting connections, and the unpack's own.
     */
    const plainRestore = async (what: string, unpack: string): Promise<Timed> => {
      const data = join(plainDir, "data");
      const port = await freePort();
      await settleDisk();
      const begin = Date.now();
      mkdirSync(data, { mode: 0o700 });
      chownSync(data, uid, gid);
      await asPostgres(["bash", "-o", "pipefail", "-c", `cd ${data} && ${unpack}`]);
      const unpackMs = Date.now() - begin;
      await asPostgres(["sh", "-c", `cd ${data} && ${PLAIN_CONFIG}`]);
      try {
        await asPostgres([
          `${BIN}/pg_ctl`,
          "-D",
          data,
          "-w",
          "-t",
          "3600",
          "-o",
          `-p ${port} -k ${plainDir} -c listen_addresses=127.0.0.1 -c config_file=${data}/postgresql.conf`,
          "start",
          "-l",
          join(plainDir, "log"),
        ]);
      } catch (error) {
        throw new Error(
          `${(error as Error).message}\n${readFileSync(join(plainDir, "log"), "utf8").slice(-2000)}`,
        );
      }
      const ms = Date.now() - begin;
      console.log(`${what}: ${ms} ms (unpacked in ${unpackMs} ms)`);
      await asPostgres([`${BIN}/pg_ctl`, "-D", data, "-m", "immediate", "stop"]).catch(() => undefined);
      rmSync(data, { recursive: true, force: true });
      return { ms, unpackMs };
    };

    /**
     * The plain restores again, in a pod on the node as the server's user: unpack, start, accepting
     * connections on its socket. The pod's end stops the server.
     */
    const plainRestoreInPod = async (name: string, unpack: string): Promise<Timed> => {
      const unpackFile = join(plainDir, "pod-unpack-ms");
      const ms = await timedPod(
        platform,
        ns,
        name,
        `mkdir -m 0700 /out/pod-data && cd /out/pod-data && s=$(date +%s%N) && ${unpack} && echo $((($(date +%s%N) - s) / 1000000)) >/out/pod-unpack-ms && ${PLAIN_CONFIG} && pg_ctl -D /out/pod-data -w -t 3600 -o "-c listen_addresses= -k /out -c config_file=/out/pod-data/postgresql.conf" -l /out/pod-log start`,
        plainDir,
        { uid, gid },
      );
      const unpackMs = Number(readFileSync(unpackFile, "utf8"));
      console.log(`  ${name} unpacked in ${unpackMs} ms`);
      rmSync(join(plainDir, "pod-data"), { recursive: true, force: true });
      rmSync(unpackFile);
      return { ms, unpackMs };
    };

    const restores: Record<Measured, Timed[]> = {
      tessera: [],
      plain: [],
      zstd: [],
      plainPod: [],
      zstdPod: [],
    };
    for (let round = 1; round <= rounds; round++) {
      console.log(`restores, round ${round} of ${rounds}`);
      const name = `restored-${round}`;
      await settleDisk();
      const restoreStart = Date.now();
      const restoreStages = trackPod(platform, ns, `${name}-postgresql-0`, restoreStart, [
        ["pod created", () => true],
        ["fetch started", started("tessera-restore-fetch")],
        ["fetched", ended("tessera-restore-fetch")],
        ["unpacked", ended("tessera-restore")],
        [
          "ready",
          (pod) => Boolean(pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")),
        ],
      ]);
      await platform.apply(cluster(ns, name, 1, "  restore: { backup: full-1 }\n"));
      await platform.waitForPhase(ns, name, "Running", 3_600_000);
      const ms = Date.now() - restoreStart;
      console.log(`tessera restore: ${ms} ms`);
      console.log(`  stages: ${await restoreStages()}, Running ${(ms / 1000).toFixed(1)} s`);
      // The fetch's own account of its time, without its container's start and the polling around it.
      const fetchLog = await platform.cluster.kubectl([
        "logs",
        "-n",
        ns,
        `${name}-postgresql-0`,
        "-c",
        "tessera-restore-fetch",
      ]);
      console.log(`  the fetch says: ${fetchLog.stdout.trim() || fetchLog.stderr.trim()}`);
      const fetchSeconds = / in ([\d.]+) s$/m.exec(fetchLog.stdout)?.[1];
      if (!fetchSeconds) throw new Error(`the fetch did not say how long it took: ${fetchLog.stdout}`);
      restores.tessera.push({ ms, unpackMs: Number(fetchSeconds) * 1000 });
      // Gone before the next measurement: its server would share the machine with it.
      const deleted = await platform.cluster.kubectl([
        "delete",
        "clusters.tessera.dev",
        "-n",
        ns,
        name,
        "--timeout=600s",
      ]);
      if (deleted.code !== 0) throw new Error(`deleting ${name}: ${deleted.stderr}`);

      restores.plain.push(await plainRestore("plain restore", `tar -x -f ${plainFile}`));
      restores.zstd.push(
        await plainRestore("zstd -d | tar -x restore", `zstd -q -d -c ${zstdFile} | tar -x`),
      );
      restores.plainPod.push(await plainRestoreInPod("plain-restore", "tar -x -f /out/plain/base.tar"));
      restores.zstdPod.push(
        await plainRestoreInPod("zstd-restore", "zstd -q -d -c /out/base.tar.zst | tar -x"),
      );
    }

    await query(rw, "insert into big values (0, 'marker')");
    const [{ t }] = (await query<{ t: string }>(
      rw,
      `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as t`,
    )) as [{ t: string }];
    // Recovery to T stops at the first commit after T: a workload keeps writing.
    await query(rw, "insert into big values (-1, 'after')");
    await archiveCaughtUp(platform, ns, rw);
    await settleDisk();
    const pitrStart = Date.now();
    await platform.apply(cluster(ns, "pitr", 1, `  restore: { backup: full-1, pointInTime: "${t}" }\n`));
    await platform.waitForPhase(ns, "pitr", "Running", 3_600_000);
    const pitrMs = Date.now() - pitrStart;

    const mib = Number(size) / (1024 * 1024);
    const rate = (ms: number) => `${(mib / (ms / 1000)).toFixed(1)} MiB/s`;
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const toRunning = (times: Timed[]) => median(times.map((t) => t.ms));
    const unpacking = (times: Timed[]) => median(times.map((t) => t.unpackMs));
    /** A row of a table: Tessera's time, each baseline's, and each ratio (plain over Tessera). */
    const compared = (
      what: string,
      tessera: number,
      plain: number,
      zstd: number,
      show: (ms: number) => string = seconds,
    ): string[] => [
      what,
      show(tessera),
      show(plain),
      (plain / tessera).toFixed(2),
      show(zstd),
      (zstd / tessera).toFixed(2),
    ];
    const withRate = (ms: number) => `${seconds(ms)} (${rate(ms)})`;
    const medians = `medians of ${rounds} round${rounds === 1 ? "" : "s"}`;
    printTable(
      `PostgreSQL backup and restore of ${mib.toFixed(0)} MiB (stored ${((backup?.status?.sizeBytes ?? 0) / 1048576).toFixed(0)} MiB, compression ${values.compression}), ${medians}`,
      [
        ["what", "tessera", "plain", "plain / tessera", "plain + zstd", "plain + zstd / tessera"],
        compared("backup", median(backups.tessera), median(backups.plain), median(backups.zstd), withRate),
        compared(
          "restore: the data",
          unpacking(restores.tessera),
          unpacking(restores.plain),
          unpacking(restores.zstd),
          withRate,
        ),
        compared(
          "restore to Running",
          toRunning(restores.tessera),
          toRunning(restores.plain),
          toRunning(restores.zstd),
        ),
        ["point-in-time restore to Running", seconds(pitrMs), "", "", "", ""],
      ],
    );
    printTable(
      `The same backups and restores run in a pod on the node (as a Job would), with the pod's start, ${medians}`,
      [
        [
          "what",
          "tessera",
          "plain in a pod",
          "plain / tessera",
          "plain + zstd in a pod",
          "plain + zstd / tessera",
        ],
        compared("backup", median(backups.tessera), median(backups.plainPod), median(backups.zstdPod)),
        compared(
          "restore: the data",
          unpacking(restores.tessera),
          unpacking(restores.plainPod),
          unpacking(restores.zstdPod),
        ),
        compared(
          "restore to Running",
          toRunning(restores.tessera),
          toRunning(restores.plainPod),
          toRunning(restores.zstdPod),
        ),
      ],
    );
  } finally {
    await platform.stop();
    rmSync(repoDir, { recursive: true, force: true });
    rmSync(plainDir, { recursive: true, force: true });
  }
}

await main();
