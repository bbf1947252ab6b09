import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import type { V1PersistentVolumeClaim, V1Service } from "@kubernetes/client-node";
import { API_VERSION, annotations, labels, type ComponentDefinition } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { parse } from "yaml";
import { opsManifest, waitForOps, watchDeletions } from "../support/ops.js";
import { TestPlatform } from "../support/platform.js";
import {
  Writer,
  lostWrites,
  podTarget,
  postgresqlManifest,
  query,
  serviceTarget,
} from "../support/postgresql.js";

// OpsRequests on a real PostgreSQL cluster (three instances, synchronous
// quorum replication) while a client writes through the rw service: each
// operation Succeeds and no acknowledged write is lost.

const ADDON = fileURLToPath(new URL("../../addons/postgresql/", import.meta.url));
const CLUSTER = "pgops";
const COMPONENT = `${CLUSTER}-postgresql`;

let platform: TestPlatform;
let ns: string;
const writers = new Set<Writer>();
/** The longest write gap of a Switchover under the writer, which an Upgrade's is reported next to. */
let switchoverGapMs: number | undefined;

const rw = () => serviceTarget(platform.client, ns, CLUSTER, "rw");

const component = () => platform.component(ns, COMPONENT);

const pods = () => platform.instances(ns, COMPONENT);

const uids = async () => new Map((await pods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));

async function claims(): Promise<V1PersistentVolumeClaim[]> {
  const list = await platform.client.list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
    namespace: ns,
    labelSelector: `${labels.component}=${COMPONENT}`,
  });
  return list.items;
}

/** The recorded primary once the cluster is Running, checked against PostgreSQL's own view. */
async function settledPrimary(): Promise<string> {
  await platform.waitForPhase(ns, CLUSTER, "Running", 240_000);
  const primary = (await component()).status!.ha!.primary!;
  const [row] = await query<{ standby: boolean }>(
    await podTarget(platform.client, ns, CLUSTER, primary),
    "select pg_is_in_recovery() as standby",
  );
  assert.equal(row?.standby, false, `${primary} is recorded as primary and must not be in recovery`);
  return primary;
}

/** Runs an operation while a writer inserts into a fresh table; returns it and the writes it lost. */
async function underWriter(table: string, name: string, type: string, extra = "") {
  await query(await rw(), `create table ${table} (id bigint primary key)`);
  const writer = new Writer(rw, table);
  writers.add(writer);
  writer.start();
  await waitFor(() => writer.count > 20, { description: "writes before the operation", timeoutMs: 30_000 });
  await platform.apply(opsManifest(ns, name, CLUSTER, type, extra));
  const op = await waitForOps(platform.client, ns, name, "Succeed", 300_000);
  const after = writer.count;
  await waitFor(() => writer.count > after + 20, {
    description: "writes after the operation",
    timeoutMs: 60_000,
  });
  const report = await writer.stop();
  writers.delete(writer);
  console.log(
    `${type}: ${report.acknowledged.length} acknowledged writes, longest write gap ${report.longestGapMs} ms`,
  );
  const primary = await settledPrimary();
  const lost = await lostWrites(
    await podTarget(platform.client, ns, CLUSTER, primary),
    table,
    report.acknowledged,
  );
  return { op, lost, primary, acknowledged: report.acknowledged, gapMs: report.longestGapMs };
}

before(async () => {
  platform = await TestPlatform.start({ addons: [ADDON] });
  ns = await platform.cluster.createNamespace("pgops");
  await platform.apply(postgresqlManifest(ns, CLUSTER, 3));
  await settledPrimary();
});

after(async () => {
  await Promise.all([...writers].map((w) => w.stop()));
  await platform?.stop();
});

test("Restart under a writer: every instance restarts, the primary last after a switchover; it Succeeds and loses no acknowledged write", async () => {
  const before = new Map((await pods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
  const oldPrimary = (await component()).status!.ha!.primary!;
  const { op, lost, primary } = await underWriter("restarted", "restart", "Restart");
  assert.deepEqual(lost, []);
  assert.equal(op.status?.progress, "3/3");
  for (const pod of await pods()) assert.notEqual(pod.metadata!.uid, before.get(pod.metadata!.name!));
  assert.notEqual(primary, oldPrimary, "the primary was switched over before it restarted");
});

test("Switchover under a writer to a named candidate, then to the best replica: each Succeeds and loses no acknowledged write", async () => {
  const from = (await component()).status!.ha!.primary!;
  const candidate = (await pods()).map((p) => p.metadata!.name!).find((p) => p !== from)!;
  const named = await underWriter(
    "switched",
    "switchover",
    "Switchover",
    `  switchover: [{ componentName: postgresql, candidateName: ${candidate} }]\n`,
  );
  assert.deepEqual(named.lost, []);
  assert.equal(named.primary, candidate);
  assert.equal(named.op.status?.steps?.[0]?.from, from);
  switchoverGapMs = named.gapMs;

  const best = await underWriter(
    "best",
    "switchover-best",
    "Switchover",
    "  switchover: [{ componentName: postgresql }]\n",
  );
  assert.deepEqual(best.lost, []);
  assert.notEqual(best.primary, candidate);
  assert.equal(best.primary, best.op.status?.steps?.[0]?.candidate);
});

test("Upgrade under a writer to a revision of the definition (same engine, one more variable): replicas first, the primary last after a switchover; every instance runs the revision, no acknowledged write is lost", async () => {
  // A name the ClusterDefinition's reference "postgresql-" (a version prefix) does not pick:
  // installing it moves no cluster by itself, only the Upgrade does.
  const REVISION = "postgresql-r2-15";
  const VARIABLE = "POSTGRESQL_ADDON_REVISION";
  const bundled = parse(
    await readFile(`${ADDON}definitions/componentdefinition.yaml`, "utf8"),
  ) as ComponentDefinition;
  const revision = {
    ...bundled,
    metadata: { name: REVISION },
    spec: { ...bundled.spec, vars: [...(bundled.spec.vars ?? []), { name: VARIABLE, value: "2" }] },
  };
  // YAML takes JSON.
  await platform.apply(JSON.stringify(revision));
  // The addon's ComponentVersion lets the revision run the release the cluster already runs.
  await platform.client.patch(
    { apiVersion: API_VERSION, kind: "ComponentVersion", name: "postgresql" },
    [{ op: "add", path: "/spec/compatibilityRules/-", value: { compDefs: [REVISION], releases: ["15"] } }],
    "json",
  );

  const oldPrimary = await settledPrimary();
  const watch = watchDeletions(platform.client, ns, COMPONENT);
  let upgraded;
  try {
    upgraded = await underWriter(
      "upgraded",
      "upgrade",
      "Upgrade",
      `  upgrade: [{ componentName: postgresql, componentDef: ${REVISION} }]\n`,
    );
  } finally {
    await watch.stop();
  }
  console.log(`Upgrade: longest write gap ${upgraded.gapMs} ms, a Switchover's ${switchoverGapMs} ms`);
  assert.deepEqual(upgraded.lost, []);
  assert.equal(upgraded.op.status?.progress, "3/3");
  const order = watch.deletions.map((d) => d.pod);
  assert.equal(new Set(order).size, 3, `each instance replaced: ${JSON.stringify(watch.deletions)}`);
  assert.equal(order.length, 3, `no instance replaced twice: ${JSON.stringify(watch.deletions)}`);
  assert.equal(order.at(-1), oldPrimary, "the primary is replaced last");
  assert.ok(
    watch.deletions.every((d) => d.role !== "primary"),
    `never replaced while primary: ${JSON.stringify(watch.deletions)}`,
  );
  assert.notEqual(upgraded.primary, oldPrimary, "the primary was switched over before it was replaced");
  assert.equal((await component()).spec.compDef, REVISION);
  for (const pod of await pods()) {
    const name = pod.metadata!.name!;
    assert.equal(pod.metadata?.annotations?.[annotations.componentDef], REVISION, `${name} is made from it`);
    const shown = await platform.cluster.kubectl([
      "exec",
      "-n",
      ns,
      name,
      "-c",
      "postgresql",
      "--",
      "printenv",
      VARIABLE,
    ]);
    assert.equal(shown.stdout.trim(), "2", `${name} runs with the revision's variable`);
  }
});

test("Custom vacuum-analyze runs VACUUM (ANALYZE) of the named table on the primary; a table name with SQL in it Fails with PostgreSQL's message and runs nothing", async () => {
  const primary = await settledPrimary();
  await query(await rw(), "create table vacuumed as select g as id from generate_series(1, 1000) g");
  await query(await rw(), "delete from vacuumed where id % 2 = 0");
  const custom = (table: string) =>
    `  custom: { componentName: postgresql, opsName: vacuum-analyze, parameters: { database: postgres, table: ${JSON.stringify(table)} } }\n`;
  await platform.apply(opsManifest(ns, "vacuum", CLUSTER, "Custom", custom("public.vacuumed")));
  const done = await waitForOps(platform.client, ns, "vacuum", "Succeed", 120_000);
  assert.deepEqual(
    done.status?.instances?.map((i) => [i.name, i.phase, i.message]),
    [[primary, "Succeed", "vacuumed and analyzed table public.vacuumed of database postgres"]],
  );
  const target = await podTarget(platform.client, ns, CLUSTER, primary);
  await waitFor(
    async () => {
      const [row] = await query<{ vacuumed: boolean; analyzed: boolean }>(
        target,
        "select last_vacuum is not null as vacuumed, last_analyze is not null as analyzed from pg_stat_user_tables where relname = 'vacuumed'",
      );
      return row?.vacuumed && row.analyzed;
    },
    { description: "PostgreSQL to report the table vacuumed and analyzed", timeoutMs: 30_000 },
  );

  // The name reaches SQL as a value, never as SQL text.
  await platform.apply(
    opsManifest(ns, "vacuum-unknown", CLUSTER, "Custom", custom("nosuch; drop table vacuumed")),
  );
  const failed = await waitForOps(platform.client, ns, "vacuum-unknown", "Failed", 120_000);
  assert.equal(failed.status?.reason, "ActionFailed");
  assert.match(failed.status!.message!, /^vacuum-analyze failed on .*: ERROR: {2}invalid name syntax/);
  const [row] = await query<{ count: string }>(await rw(), "select count(*) from vacuumed");
  assert.equal(row?.count, "500");
});

test("Reconfiguring work_mem reaches every instance without a restart; a synchronous_standby_names PostgreSQL refuses leaves every instance on the previous value and Fails with its message", async () => {
  const before = await uids();
  const reconfigure = (parameters: string) =>
    `  reconfiguring: [{ componentName: postgresql, parameters: ${parameters} }]\n`;
  const show = async (setting: string) =>
    Promise.all(
      [...before.keys()].map(async (pod) => {
        const [row] = await query<Record<string, string>>(
          await podTarget(platform.client, ns, CLUSTER, pod),
          `show ${setting}`,
        );
        return row?.[setting];
      }),
    );

  await platform.apply(
    opsManifest(ns, "work-mem", CLUSTER, "Reconfiguring", reconfigure("{ work_mem: 24MB }")),
  );
  await waitForOps(platform.client, ns, "work-mem", "Succeed", 180_000);
  assert.deepEqual(await show("work_mem"), ["24MB", "24MB", "24MB"]);

  // Any text passes the schema; PostgreSQL's own check refuses this one.
  await platform.apply(
    opsManifest(
      ns,
      "standby-names",
      CLUSTER,
      "Reconfiguring",
      reconfigure('{ synchronous_standby_names: "ANY 1 (" }'),
    ),
  );
  const failed = await waitForOps(platform.client, ns, "standby-names", "Failed", 180_000);
  assert.equal(failed.status?.reason, "EngineRefused");
  assert.match(failed.status!.message!, /invalid value for parameter "synchronous_standby_names"/);
  assert.deepEqual(await show("synchronous_standby_names"), ["ANY 1 (*)", "ANY 1 (*)", "ANY 1 (*)"]);
  assert.deepEqual(await show("work_mem"), ["24MB", "24MB", "24MB"]);
  assert.deepEqual(await uids(), before, "no instance restarted");
});

test("VerticalScaling under a writer: every instance runs with the new resources; it Succeeds and loses no acknowledged write", async () => {
  const { lost } = await underWriter(
    "scaled",
    "vertical-scaling",
    "VerticalScaling",
    "  verticalScaling:\n    - componentName: postgresql\n      resources: { limits: { cpu: 800m, memory: 384Mi } }\n",
  );
  assert.deepEqual(lost, []);
  const scaled = await pods();
  assert.equal(scaled.length, 3);
  for (const pod of scaled)
    assert.deepEqual(
      pod.spec!.containers[0]!.resources,
      { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "800m", memory: "384Mi" } },
      `${pod.metadata!.name} runs with the new limits and its requests`,
    );
});

test("VolumeExpansion under a writer: every volume grows online, no instance restarts, no acknowledged write is lost", async () => {
  const before = await uids();
  const { lost } = await underWriter(
    "expanded",
    "volume-expansion",
    "VolumeExpansion",
    "  volumeExpansion:\n    - componentName: postgresql\n      volumeClaimTemplates: [{ name: data, storage: 2Gi }]\n",
  );
  assert.deepEqual(lost, []);
  const grown = await claims();
  assert.equal(grown.length, 3);
  for (const claim of grown)
    assert.equal(claim.status?.capacity?.storage, "2Gi", `${claim.metadata!.name} reports its new capacity`);
  assert.deepEqual(await uids(), before, "no instance restarted");
});

test("RebuildInstance of a replica under a writer: it keeps its name, streams from the primary again on a new volume with every acknowledged row, and no write is lost", async () => {
  const leader = await settledPrimary();
  const replica = (await pods()).map((p) => p.metadata!.name!).find((p) => p !== leader)!;
  const claimOf = async () => (await claims()).find((c) => c.metadata?.labels?.[labels.podName] === replica)!;
  const oldClaim = await claimOf();
  const { lost, primary, acknowledged } = await underWriter(
    "rebuilt",
    "rebuild",
    "RebuildInstance",
    `  rebuildInstance:\n    - componentName: postgresql\n      instances: [${replica}]\n`,
  );
  assert.deepEqual(lost, []);
  assert.notEqual(primary, replica);
  const newClaim = await claimOf();
  assert.equal(newClaim.metadata!.name, oldClaim.metadata!.name, "the claim keeps its name");
  assert.notEqual(newClaim.metadata!.uid, oldClaim.metadata!.uid, "a new claim");
  const onPrimary = await podTarget(platform.client, ns, CLUSTER, primary);
  await waitFor(
    async () =>
      (
        await query(
          onPrimary,
          "select 1 from pg_stat_replication where application_name = $1 and state = 'streaming'",
          [replica],
        )
      ).length === 1,
    { description: `${replica} streaming from the primary`, timeoutMs: 60_000 },
  );
  const onReplica = await podTarget(platform.client, ns, CLUSTER, replica);
  await waitFor(async () => (await lostWrites(onReplica, "rebuilt", acknowledged)).length === 0, {
    description: `every acknowledged row replayed on ${replica}`,
    timeoutMs: 60_000,
  });
});

test("Expose a NodePort Service for the primary: the host reaches the primary on the node port; Disable removes it and the port closes", async () => {
  const expose = (body: string) =>
    `  expose:\n    - componentName: postgresql\n      ${body.replace(/\n/g, "\n      ")}\n`;
  await platform.apply(
    opsManifest(
      ns,
      "expose",
      CLUSTER,
      "Expose",
      expose("switch: Enable\nservices: [{ name: ext, serviceType: NodePort, roleSelector: primary }]"),
    ),
  );
  await waitForOps(platform.client, ns, "expose", "Succeed", 60_000);
  const ref = { apiVersion: "v1", kind: "Service", namespace: ns, name: `${COMPONENT}-ext` };
  const service = await platform.client.get<V1Service>(ref);
  assert.equal(service.spec?.type, "NodePort");
  const nodePort = service.spec!.ports!.find((p) => p.port === 5432)!.nodePort!;
  const onHost = { ...(await rw()), host: "127.0.0.1", port: nodePort };
  const [row] = await waitFor(
    () => query<{ standby: boolean }>(onHost, "select pg_is_in_recovery() as standby").catch(() => undefined),
    { description: `PostgreSQL through node port ${nodePort}`, timeoutMs: 30_000 },
  );
  assert.equal(row?.standby, false, "the node port leads to the primary");

  await platform.apply(
    opsManifest(ns, "unexpose", CLUSTER, "Expose", expose("switch: Disable\nservices: [{ name: ext }]")),
  );
  await waitForOps(platform.client, ns, "unexpose", "Succeed", 60_000);
  assert.equal(await platform.client.find(ref), undefined, "the Service is gone");
  await waitFor(
    () =>
      query(onHost, "select 1").then(
        () => false,
        () => true,
      ),
    { description: `node port ${nodePort} to close`, timeoutMs: 30_000 },
  );
});
