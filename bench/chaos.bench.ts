// Chaos benchmark: what clients see when instances of a replicated cluster
// fail, per engine and fault.
//
// For each engine, one cluster on a throwaway platform; each run injects one
// fault under a writer (one write every 50 ms through the writable service,
// abandoned after 1 s) and a watcher that asks every instance every 100 ms
// whether it is writable, then waits until the cluster converged and writes
// resumed. Per engine and fault: the write gap (longest interval between
// acknowledged writes from the fault on), acknowledged writes missing after
// convergence, samples in which two instances acknowledged a write
// (split brain), samples in which two claimed to be writable, and writes
// acknowledged by a superseded instance.
//
// Usage: npm run bench:chaos [-- --engine postgresql --runs 5 --faults kill,freeze,isolate-kubelet]
//        [--parameter name=value ...]  engine parameters of the cluster, e.g.
//        --parameter synchronous_standby_names= for asynchronous PostgreSQL replication
import { parseArgs } from "node:util";
import { ChaosCluster } from "../test/chaos/cluster.js";
import { CHAOS_ENGINES } from "../test/chaos/engines/index.js";
import { FAULTS, faultNamed } from "../test/chaos/faults.js";
import { formatRound, type RoundResult } from "../test/chaos/metrics.js";
import { median, printTable } from "./report.js";

const { values } = parseArgs({
  options: {
    engine: { type: "string", default: "postgresql" },
    runs: { type: "string", default: "5" },
    faults: { type: "string", default: FAULTS.map((f) => f.name).join(",") },
    parameter: { type: "string", multiple: true, default: [] },
  },
});
const parameters = Object.fromEntries(
  values.parameter.map((p) => {
    const at = p.indexOf("=");
    if (at < 1) throw new Error(`--parameter ${p}: expected name=value`);
    return [p.slice(0, at), p.slice(at + 1)];
  }),
);
const runs = Number(values.runs);
const faults = values.faults.split(",").map(faultNamed);
const engines = values.engine.split(",").map((name) => {
  const descriptor = CHAOS_ENGINES[name];
  if (!descriptor)
    throw new Error(`no chaos descriptor for ${name}; known: ${Object.keys(CHAOS_ENGINES).join(", ")}`);
  return descriptor;
});

const sum = (results: RoundResult[], value: (r: RoundResult) => number) =>
  String(results.reduce((total, r) => total + value(r), 0));

const rows: string[][] = [
  [
    "engine",
    "fault",
    "runs",
    "not converged",
    "median write gap (ms)",
    "max write gap (ms)",
    "lost acknowledged writes",
    "split-brain samples",
    "two-claimant samples",
    "stale acknowledgements",
  ],
];
for (const descriptor of engines) {
  const chaos = await ChaosCluster.start(descriptor, parameters);
  try {
    for (const fault of faults) {
      const results: RoundResult[] = [];
      for (let i = 1; i <= runs; i++) {
        const result = await chaos.round(fault).catch((error: Error): RoundResult => ({
          engine: descriptor.engine.name,
          fault: fault.name,
          writes: 0,
          acknowledged: 0,
          writeGapMs: 0,
          staleAcks: 0,
          samples: 0,
          claimSamples: 0,
          splitBrainSamples: 0,
          incidents: [],
          error: `not started: ${error.message}`,
        }));
        console.log(`run ${i}: ${formatRound(result)}`);
        results.push(result);
      }
      const gaps = results.filter((r) => r.writes > 0).map((r) => r.writeGapMs);
      rows.push([
        descriptor.engine.name,
        fault.name,
        String(results.length),
        String(results.filter((r) => r.error).length),
        gaps.length ? String(median(gaps)) : "-",
        gaps.length ? String(Math.max(...gaps)) : "-",
        // Runs that never converged have no count of lost writes; the column above says how many.
        sum(results, (r) => r.lost?.length ?? 0),
        sum(results, (r) => r.splitBrainSamples),
        sum(results, (r) => r.claimSamples),
        sum(results, (r) => r.staleAcks),
      ]);
    }
  } finally {
    await chaos.stop();
  }
}
const settings = Object.keys(parameters).length ? `, parameters ${JSON.stringify(parameters)}` : "";
printTable(`Chaos: ${runs} run(s) per fault${settings}, write gaps from the fault's start`, rows);
