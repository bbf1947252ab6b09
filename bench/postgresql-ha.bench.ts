// Failover and switchover benchmark for the PostgreSQL addon.
//
// A 3-instance synchronous-replication cluster on a throwaway platform; a
// writer inserts through the rw service as fast as it can. Each failover
// run SIGKILLs the primary's processes; each switchover run changes a
// static parameter, which rolls the cluster and moves the primary with a
// planned switchover. For every run it reports the write-unavailability
// window (longest gap between acknowledged writes) and the number of
// acknowledged writes that are missing afterwards.
//
// Usage: npm run bench:postgresql-ha [-- --runs 5]
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { API_VERSION, type Component } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { TestPlatform } from "../test/support/platform.js";
import { Writer, lostWrites, query, serviceTarget } from "../test/support/postgresql.js";
import { postgresqlCluster } from "./postgresql-cluster.js";
import { median, printTable } from "./report.js";

interface Run {
  gapMs: number;
  lost: number;
}

function summary(event: string, results: Run[]): string[] {
  return [
    event,
    String(results.length),
    String(median(results.map((r) => r.gapMs))),
    String(Math.max(...results.map((r) => r.gapMs))),
    String(results.reduce((sum, r) => sum + r.lost, 0)),
  ];
}

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);
const ADDON = fileURLToPath(new URL("../addons/postgresql/", import.meta.url));

const platform = await TestPlatform.start({ addons: [ADDON] });
try {
  const ns = await platform.cluster.createNamespace("bench");
  const manifest = (maxConnections: number) =>
    postgresqlCluster(ns, { max_connections: String(maxConnections) });
  await platform.apply(manifest(100));
  await platform.waitForPhase(ns, "pg", "Running", 300_000);
  const rw = () => serviceTarget(platform.client, ns, "pg", "rw");
  await query(await rw(), "create table bench (id bigint primary key)");
  const component = () =>
    platform.client.get<Component>({
      apiVersion: API_VERSION,
      kind: "Component",
      namespace: ns,
      name: "pg-postgresql",
    });
  let table = 0;

  async function measure(disrupt: () => Promise<void>, settled: () => Promise<boolean>): Promise<Run> {
    const name = `bench_${++table}`;
    await query(await rw(), `create table ${name} (id bigint primary key)`);
    const writer = new Writer(rw, name);
    writer.start();
    await waitFor(() => writer.count > 50, { description: "steady writes", timeoutMs: 60_000 });
    await disrupt();
    await waitFor(settled, { description: "the cluster to settle", timeoutMs: 300_000 });
    const progress = writer.count;
    await waitFor(() => writer.count > progress + 50, {
      description: "writes after the event",
      timeoutMs: 60_000,
    });
    const report = await writer.stop();
    return {
      gapMs: report.longestGapMs,
      lost: (await lostWrites(await rw(), name, report.acknowledged)).length,
    };
  }

  const running = async () => {
    const c = await component();
    return c.status?.phase === "Running" && c.status.observedGeneration === c.metadata.generation;
  };
  const failovers: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const before = (await component()).status!.ha!;
    const faults = await platform.hostlet.faults();
    failovers.push(
      await measure(
        () => faults.killContainer(ns, before.primary!, "postgresql").then(() => undefined),
        async () => (await component()).status?.ha?.primary !== before.primary && (await running()),
      ),
    );
    console.log(`failover ${i + 1}: ${JSON.stringify(failovers.at(-1))}`);
  }
  const switchovers: Run[] = [];
  for (let i = 0; i < runs; i++) {
    const before = (await component()).status!.ha!;
    switchovers.push(
      await measure(
        () => platform.apply(manifest(110 + i)),
        async () => (await component()).status?.ha?.primary !== before.primary && (await running()),
      ),
    );
    console.log(`switchover ${i + 1}: ${JSON.stringify(switchovers.at(-1))}`);
  }
  printTable("PostgreSQL write unavailability (3 instances, synchronous quorum)", [
    ["event", "runs", "median gap (ms)", "max gap (ms)", "lost acknowledged writes"],
    summary("failover (kill -9 primary)", failovers),
    summary("switchover (rolling update)", switchovers),
  ]);
} finally {
  await platform.stop();
}
