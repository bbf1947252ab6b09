import { test } from "node:test";
import assert from "node:assert/strict";
import {
  metricsRegistry,
  queueDepth,
  reconcileDuration,
  reconcileErrors,
  reconcileTotal,
} from "../../src/metrics.js";

/** `# TYPE <name> <type>` lines of the exposition text, as a map. */
async function scrape(): Promise<Map<string, string>> {
  const text = await metricsRegistry.metrics();
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as [string, string]));
}

test("the runtime's metrics keep their standard names, without a prefix", async () => {
  const types = await scrape();
  for (const name of [
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "nodejs_eventloop_lag_seconds",
    "nodejs_heap_size_used_bytes",
  ])
    assert.ok(types.has(name), `${name} is exposed`);
  assert.deepEqual(
    [...types.keys()].filter((name) => /^tessera_(process|nodejs)_/.test(name)),
    [],
    "no runtime metric carries Tessera's prefix",
  );
});

test("Tessera's own metrics carry the tessera_ prefix once, counters end in _total, durations in _seconds", async () => {
  queueDepth.set({ controller: "test" }, 1);
  reconcileTotal.inc({ controller: "test", result: "success" });
  reconcileErrors.inc({ controller: "test" });
  reconcileDuration.observe({ controller: "test" }, 0.01);
  const types = await scrape();
  const own = [...types].filter(([name]) => !/^(process|nodejs)_/.test(name));
  assert.deepEqual(own.map(([name]) => name).sort(), [
    "tessera_reconcile_duration_seconds",
    "tessera_reconcile_errors_total",
    "tessera_reconcile_total",
    "tessera_workqueue_depth",
  ]);
  for (const [name, type] of types) {
    assert.match(name, /^[a-z_][a-z0-9_]*$/, `${name} is snake_case`);
    assert.doesNotMatch(name, /tessera_.*tessera_/, `${name} has one prefix`);
    if (type === "counter") assert.match(name, /_total$/, `counter ${name} ends in _total`);
    if (type === "histogram" || type === "summary")
      assert.match(name, /_(seconds|bytes)$/, `${type} ${name} names its unit`);
  }
});
