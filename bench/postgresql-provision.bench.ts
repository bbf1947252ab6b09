// Provisioning benchmark for the PostgreSQL addon: time from `kubectl apply`
// of a 3-instance replication cluster to Running, next to a plain-script
// baseline on the same machine in the same run (initdb, start the primary,
// two pg_basebackup clones started as streaming standbys).
//
// Usage: npm run bench:postgresql-provision [-- --runs 3]
import { mkdtempSync, rmSync, chownSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runCommand, freePort } from "@tessera/base";
import { Informer, waitFor } from "@tessera/kube";
import { API_VERSION, type Cluster } from "@tessera/api";
import { isInPhase, TestPlatform } from "../test/support/platform.js";
import { postgresqlCluster } from "./postgresql-cluster.js";
import { median, printTable } from "./report.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const runs = Number(values.runs);
const ADDON = fileURLToPath(new URL("../addons/postgresql/", import.meta.url));
const BIN = "/usr/lib/postgresql/15/bin";

/** Runs a PostgreSQL tool as the postgres user (the servers refuse root). */
async function asPostgres(args: string[]): Promise<void> {
  const result = await runCommand("runuser", ["-u", "postgres", "--", ...args], { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`${args.join(" ")}: ${result.stderr}`);
}

/** The baseline: what a script does by hand to get one primary and two streaming standbys. */
async function baseline(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "tessera-bench-pg-"));
  chownSync(
    dir,
    Number((await runCommand("id", ["-u", "postgres"])).stdout),
    Number((await runCommand("id", ["-g", "postgres"])).stdout),
  );
  const ports = [await freePort(), await freePort(), await freePort()];
  const data = ports.map((_, i) => join(dir, `n${i}`));
  const start = Date.now();
  try {
    await asPostgres([`${BIN}/initdb`, "-D", data[0]!, "-U", "postgres", "--auth=trust"]);
    writeFileSync(join(data[0]!, "postgresql.auto.conf"), "synchronous_standby_names = 'ANY 1 (*)'\n");
    await asPostgres([
      `${BIN}/pg_ctl`,
      "-D",
      data[0]!,
      "-w",
      "-o",
      `-p ${ports[0]} -k ${dir} -c listen_addresses=127.0.0.1`,
      "start",
      "-l",
      join(dir, "n0.log"),
    ]);
    for (const i of [1, 2]) {
      await asPostgres([
        `${BIN}/pg_basebackup`,
        "-h",
        "127.0.0.1",
        "-p",
        String(ports[0]),
        "-U",
        "postgres",
        "-D",
        data[i]!,
        "-X",
        "stream",
        "-R",
        "--checkpoint=fast",
      ]);
      await asPostgres([
        `${BIN}/pg_ctl`,
        "-D",
        data[i]!,
        "-w",
        "-o",
        `-p ${ports[i]} -k ${dir} -c listen_addresses=127.0.0.1`,
        "start",
        "-l",
        join(dir, `n${i}.log`),
      ]);
    }
    await waitFor(
      async () => {
        const result = await runCommand(`${BIN}/psql`, [
          "-h",
          "127.0.0.1",
          "-p",
          String(ports[0]),
          "-U",
          "postgres",
          "-Atc",
          "select count(*) from pg_stat_replication where state = 'streaming'",
        ]);
        return result.stdout.trim() === "2";
      },
      { description: "two streaming standbys", timeoutMs: 60_000, intervalMs: 50 },
    );
    return Date.now() - start;
  } finally {
    for (const d of data)
      await asPostgres([`${BIN}/pg_ctl`, "-D", d, "-m", "immediate", "stop"]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Each measured run starts on a quiet machine: the previous run's volumes
 * are deleted and what the deletions left to write has reached the disk.
 */
async function quiesce(): Promise<void> {
  await waitFor(async () => (await platform.client.list("v1", "PersistentVolume")).items.length === 0, {
    description: "the previous run's volumes to be deleted",
    timeoutMs: 120_000,
  });
  await runCommand("sync", []);
}

/**
 * When the cluster is first seen Running, as `kubectl wait` sees it: through
 * a watch, so the moment is exact and measuring adds no load (polling the
 * apiserver every few milliseconds would slow what it measures).
 */
async function watchUntilRunning(namespace: string, name: string): Promise<number> {
  const clusters = new Informer<Cluster>(platform.client, {
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace,
    fieldSelector: `metadata.name=${name}`,
  });
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cluster ${namespace}/${name} not Running`)), 300_000);
      const check = (cluster: Cluster) => {
        if (!isInPhase(cluster, "Running")) return;
        clearTimeout(timer);
        resolve(Date.now());
      };
      clusters.addHandlers({ add: check, update: (_, cluster) => check(cluster) });
      clusters.start();
    });
  } finally {
    await clusters.stop();
  }
}

const platform = await TestPlatform.start({ addons: [ADDON] });
try {
  const tessera: number[] = [];
  const script: number[] = [];
  for (let i = 0; i < runs; i++) {
    await quiesce();
    script.push(await baseline());
    await quiesce();
    const ns = await platform.cluster.createNamespace("bench");
    const running = watchUntilRunning(ns, "pg");
    const start = Date.now();
    await platform.apply(postgresqlCluster(ns));
    tessera.push((await running) - start);
    console.log(`run ${i + 1}: baseline ${script.at(-1)} ms, tessera ${tessera.at(-1)} ms`);
    await platform.cluster.kubectl(["delete", "cluster", "pg", "-n", ns, "--timeout=120s"]);
  }
  const ratio = (median(tessera) / median(script)).toFixed(2);
  printTable("Time to a running 3-instance PostgreSQL cluster", [
    ["how", "runs", "median (ms)"],
    ["plain script: initdb + 2 x pg_basebackup", String(runs), String(median(script))],
    ["tessera: kubectl apply to Running", String(runs), String(median(tessera))],
    ["ratio tessera / script", "", ratio],
  ]);
} finally {
  await platform.stop();
}
