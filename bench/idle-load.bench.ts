// The apiserver load Tessera causes while nothing changes: N three-instance clusters of the kv
// test addon run on a hostlet node, and for a window the apiserver's audit log records every
// request; those made with the operator's identity are counted by verb and resource.
//
// Usage: npm run bench:idle-load [-- --clusters 10 --replicas 3 --seconds 60]
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { testRoot } from "@tessera/testing";
import { TestPlatform } from "../test/support/platform.js";
import { OPERATOR_USER, auditEventsSince, auditOffset } from "../test/support/audit.js";
import { printTable } from "./report.js";

const KV_ADDON = fileURLToPath(new URL("../packages/operator/test/fixtures/addons/kv/", import.meta.url));
const SETTLE_MS = 10_000;

const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "10" },
    replicas: { type: "string", default: "3" },
    seconds: { type: "string", default: "60" },
  },
});
const clusters = Number(values.clusters);
const replicas = Number(values.replicas);
const seconds = Number(values.seconds);

function manifest(namespace: string, name: string): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  clusterDef: kv
  topology: standalone
  terminationPolicy: Delete
  componentSpecs:
    - name: kv
      replicas: ${replicas}
      resources: { requests: { cpu: 10m, memory: 16Mi } }
`;
}

const dir = mkdtempSync(join(testRoot(), "idle-load-"));
const auditLog = join(dir, "audit.log");
// The production lease (15 s): the test platform's short one renews several times a second.
const platform = await TestPlatform.start({ addons: [KV_ADDON], auditLog, leaseDurationSeconds: 15 });
try {
  const ns = await platform.cluster.createNamespace("idle");
  const names = Array.from({ length: clusters }, (_, i) => `idle-${i}`);
  for (const name of names) await platform.apply(manifest(ns, name));
  for (const name of names) await platform.waitForPhase(ns, name, "Running", 300_000);
  await delay(SETTLE_MS);
  const offset = auditOffset(auditLog);
  const started = Date.now();
  await delay(seconds * 1000);
  const elapsed = (Date.now() - started) / 1000;
  const events = auditEventsSince(auditLog, offset).filter((e) => e.user?.username === OPERATOR_USER);
  const byKind = new Map<string, number>();
  for (const event of events) {
    const resource = [event.objectRef?.resource, event.objectRef?.subresource].filter(Boolean).join("/");
    const key = `${event.verb} ${resource || "(none)"}`;
    byKind.set(key, (byKind.get(key) ?? 0) + 1);
  }
  const rows = [...byKind.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, count]) => [kind, String(count), (count / elapsed).toFixed(2)]);
  printTable(
    `Idle apiserver load from the operator: ${clusters} clusters × ${replicas} instances, ${elapsed.toFixed(0)} s`,
    [
      ["request", "count", "per second"],
      ...rows,
      ["total", String(events.length), (events.length / elapsed).toFixed(2)],
    ],
  );
} finally {
  await platform.stop();
  rmSync(dir, { recursive: true, force: true });
}
