// Restart benchmark for the PostgreSQL addon.
//
// A 3-instance synchronous-replication cluster under a writer. Each round
// restarts every instance three ways, in turn: a Restart OpsRequest (replicas
// first, switchover, primary last); the same steps scripted with kubectl
// alone (bench/scripts/rolling-restart.sh); and, for scale, one Switchover
// OpsRequest. For each it reports the total duration, the longest gap between
// acknowledged writes, and acknowledged writes missing afterwards.
//
// Usage: npm run bench:postgresql-restart [-- --runs 3]
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runCommand } from "@tessera/base";
import { kubeBinDir } from "@tessera/control-plane";
import { waitFor } from "@tessera/kube";
import { opsManifest, waitForOps } from "../test/support/ops.js";
import { TestPlatform } from "../test/support/platform.js";
import { Writer, lostWrites, query, serviceTarget } from "../test/support/postgresql.js";
import { postgresqlCluster } from "./postgresql-cluster.js";
import { median, printTable } from "./report.js";

interface Run {
  durationMs: number;
  gapMs: number;
  lost: number;
}

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" } } });
const runs = Number(values.runs);
const ADDON = fileURLToPath(new URL("../addons/postgresql/", import.meta.url));
const SCRIPT = fileURLToPath(new URL("./scripts/rolling-restart.sh", import.meta.url));

function summary(method: string, results: Run[]): string[] {
  return [
    method,
    String(results.length),
    String(median(results.map((r) => r.durationMs))),
    String(median(results.map((r) => r.gapMs))),
    String(Math.max(...results.map((r) => r.gapMs))),
    String(results.reduce((sum, r) => sum + r.lost, 0)),
  ];
}

const platform = await TestPlatform.start({ addons: [ADDON] });
try {
  const ns = await platform.cluster.createNamespace("bench");
  await platform.apply(postgresqlCluster(ns));
  await platform.waitForPhase(ns, "pg", "Running", 300_000);
  const rw = () => serviceTarget(platform.client, ns, "pg", "rw");
  let table = 0;
  let serial = 0;

  async function measure(restart: () => Promise<void>): Promise<Run> {
    const name = `bench_${++table}`;
    await query(await rw(), `create table ${name} (id bigint primary key)`);
    const writer = new Writer(rw, name);
    writer.start();
    await waitFor(() => writer.count > 50, { description: "steady writes", timeoutMs: 60_000 });
    const started = Date.now();
    await restart();
    const durationMs = Date.now() - started;
    await platform.waitForPhase(ns, "pg", "Running", 300_000);
    const progress = writer.count;
    await waitFor(() => writer.count > progress + 50, {
      description: "writes after the restart",
      timeoutMs: 60_000,
    });
    const report = await writer.stop();
    return {
      durationMs,
      gapMs: report.longestGapMs,
      lost: (await lostWrites(await rw(), name, report.acknowledged)).length,
    };
  }

  async function operate(type: string, section: string): Promise<void> {
    const name = `${type.toLowerCase()}-${++serial}`;
    await platform.apply(opsManifest(ns, name, "pg", type, section));
    await waitForOps(platform.client, ns, name, "Succeed", 600_000);
  }

  const byOperation: Run[] = [];
  const byScript: Run[] = [];
  const switchovers: Run[] = [];
  for (let i = 0; i < runs; i++) {
    byOperation.push(
      await measure(() => operate("Restart", "  restart:\n    - componentName: postgresql\n")),
    );
    console.log(`Restart OpsRequest ${i + 1}: ${JSON.stringify(byOperation.at(-1))}`);
    byScript.push(
      await measure(async () => {
        const result = await runCommand(SCRIPT, [ns, "pg", "postgresql"], {
          env: {
            ...process.env,
            KUBECONFIG: platform.cluster.kubeconfig,
            PATH: `${kubeBinDir()}:${process.env.PATH}`,
          },
          timeoutMs: 900_000,
        });
        if (result.code !== 0) throw new Error(`rolling-restart.sh failed: ${result.stderr}`);
      }),
    );
    console.log(`kubectl script ${i + 1}: ${JSON.stringify(byScript.at(-1))}`);
    switchovers.push(
      await measure(() => operate("Switchover", "  switchover:\n    - componentName: postgresql\n")),
    );
    console.log(`Switchover ${i + 1}: ${JSON.stringify(switchovers.at(-1))}`);
  }
  printTable("PostgreSQL rolling restart, 3 instances under a writer", [
    [
      "method",
      "runs",
      "median duration (ms)",
      "median write gap (ms)",
      "max write gap (ms)",
      "lost acknowledged writes",
    ],
    summary("Restart OpsRequest", byOperation),
    summary("kubectl script (delete replicas, Switchover, delete old primary)", byScript),
    summary("one Switchover OpsRequest (reference gap)", switchovers),
  ]);
  const ratio = median(byOperation.map((r) => r.durationMs)) / median(byScript.map((r) => r.durationMs));
  console.log(`Restart OpsRequest duration / kubectl script duration: ${ratio.toFixed(2)}`);
} finally {
  await platform.stop();
}
