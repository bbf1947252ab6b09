import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { labels } from "@tessera/api";
import { Informer, waitFor } from "@tessera/kube";
import { TestPlatform } from "../support/platform.js";
import {
  Writer,
  lostWrites,
  podTarget,
  query,
  serviceTarget,
  postgresqlManifest,
} from "../support/postgresql.js";

const ADDON = fileURLToPath(new URL("../../addons/postgresql/", import.meta.url));
const CLUSTER = "pg";
const COMPONENT = `${CLUSTER}-postgresql`;

let platform: TestPlatform;
let ns: string;
/** Writers still running when a test fails are stopped in `after`, so the run can end. */
const writers = new Set<Writer>();

function startWriter(table: string): Writer {
  const writer = new Writer(rw, table);
  writers.add(writer);
  writer.start();
  return writer;
}

function manifest(replicas: number, extra = ""): string {
  return postgresqlManifest(ns, CLUSTER, replicas, extra);
}

const component = () => platform.component(ns, COMPONENT);

const pods = () => platform.instances(ns, COMPONENT);

const rw = () => serviceTarget(platform.client, ns, CLUSTER, "rw");

/** The recorded primary, addressed directly, once the cluster has settled: where durability is judged. */
async function settledPrimary() {
  await waitRunning();
  const primary = (await component()).status!.ha!.primary!;
  const target = await podTarget(platform.client, ns, CLUSTER, primary);
  const [row] = await query<{ standby: boolean }>(target, "select pg_is_in_recovery() as standby");
  assert.equal(row?.standby, false, `${primary} is recorded as primary and must not be in recovery`);
  return target;
}

/** The primary's view of its standbys: application names of streaming replicas. */
async function streamingReplicas(): Promise<string[]> {
  const rows = await query<{ application_name: string }>(
    await rw(),
    "select application_name from pg_stat_replication where state = 'streaming' order by 1",
  );
  return rows.map((r) => r.application_name);
}

async function waitStreaming(expected: string[], description: string) {
  await waitFor(async () => (await streamingReplicas()).join() === [...expected].sort().join(), {
    description,
    timeoutMs: 120_000,
  });
}

async function waitRunning() {
  await platform.waitForPhase(ns, CLUSTER, "Running", 240_000);
}

/** Every pod's role label agrees with PostgreSQL's own answer to pg_is_in_recovery(). */
async function assertRolesMatchReality() {
  // A just-restarted instance gets its label at the next probe round.
  await waitFor(
    async () => {
      for (const pod of await pods()) {
        const [row] = await query<{ standby: boolean }>(
          await podTarget(platform.client, ns, CLUSTER, pod.metadata!.name!),
          "select pg_is_in_recovery() as standby",
        );
        const expected = row!.standby ? "secondary" : "primary";
        if (pod.metadata?.labels?.[labels.role] !== expected) {
          throw new Error(
            `${pod.metadata?.name} is labelled ${pod.metadata?.labels?.[labels.role]} but is ${expected}`,
          );
        }
      }
      return true;
    },
    { description: "role labels to match every instance's own view", timeoutMs: 30_000 },
  );
}

before(async () => {
  platform = await TestPlatform.start({ addons: [ADDON] });
  ns = await platform.cluster.createNamespace("pg");
});

after(async () => {
  await Promise.all([...writers].map((w) => w.stop()));
  await platform?.stop();
});

test("a 3-instance replication cluster runs: rw writes, ro reads, two streaming replicas, labels match reality", async () => {
  await platform.apply(manifest(3));
  await waitRunning();
  await query(await rw(), "create table acked (id bigint primary key)");
  await query(await rw(), "insert into acked values (0)");
  await waitFor(
    async () => {
      const [row] = await query<{ count: string; standby: boolean }>(
        await serviceTarget(platform.client, ns, CLUSTER, "ro"),
        "select count(*) as count, pg_is_in_recovery() as standby from acked",
      );
      return row?.standby === true && row.count === "1";
    },
    { description: "the ro service to read the row from a standby", timeoutMs: 30_000 },
  );
  await waitStreaming([`${COMPONENT}-1`, `${COMPONENT}-2`], "two streaming replicas");
  const [sync] = await query<{ n: string }>(
    await rw(),
    "select count(*) as n from pg_stat_replication where sync_state = 'quorum'",
  );
  assert.equal(sync?.n, "2", "replicas are synchronous quorum standbys");
  await assertRolesMatchReality();
});

test("a static parameter change rolls replicas first, switches over, replaces the old primary last and loses no acknowledged write", async () => {
  const oldPrimary = (await component()).status!.ha!.primary!;
  // Record, in order, which pods were deleted and the role each had when it was.
  const deletions: { pod: string; role?: string }[] = [];
  const informer = new Informer<V1Pod>(platform.client, { apiVersion: "v1", kind: "Pod", namespace: ns });
  informer.addHandlers({
    update: (before, after) => {
      if (!before.metadata?.deletionTimestamp && after.metadata?.deletionTimestamp) {
        deletions.push({ pod: after.metadata.name!, role: before.metadata?.labels?.[labels.role] });
      }
    },
  });
  informer.start();
  await query(await rw(), "create table rolling (id bigint primary key)");
  const writer = startWriter("rolling");
  try {
    await platform.apply(manifest(3, '      parameters: { max_connections: "250" }'));
    await waitFor(
      async () => {
        const c = await component();
        if (c.status?.phase !== "Running" || c.status.observedGeneration !== c.metadata.generation)
          return false;
        const settings = await Promise.all(
          (await pods()).map(async (p) => {
            const [row] = await query<{ max_connections: string }>(
              await podTarget(platform.client, ns, CLUSTER, p.metadata!.name!),
              "show max_connections",
            );
            return row?.max_connections;
          }),
        );
        return settings.every((s) => s === "250");
      },
      { description: "every instance restarted with max_connections=250", timeoutMs: 300_000 },
    );
    await waitFor(() => writer.count > 0, { description: "writes after the update", timeoutMs: 30_000 });
  } finally {
    await informer.stop();
  }
  const report = await writer.stop();
  console.log(
    `rolling update: ${report.acknowledged.length} acknowledged writes, longest write gap ${report.longestGapMs} ms`,
  );
  assert.deepEqual(await lostWrites(await settledPrimary(), "rolling", report.acknowledged), []);
  const order = deletions.map((d) => d.pod);
  assert.equal(new Set(order).size, 3, `each instance replaced once: ${JSON.stringify(deletions)}`);
  assert.equal(order.at(-1), oldPrimary, "the old primary is replaced last");
  assert.ok(
    deletions.every((d) => d.role !== "primary"),
    `no instance was replaced while primary: ${JSON.stringify(deletions)}`,
  );
  assert.notEqual((await component()).status?.ha?.primary, oldPrimary, "a switchover moved the primary away");
  await assertRolesMatchReality();
});

test("failover: the primary's processes are killed, a replica is promoted, no acknowledged write is lost, the old primary rejoins", async () => {
  const before = (await component()).status!.ha!;
  await query(await rw(), "create table failover (id bigint primary key)");
  const writer = startWriter("failover");
  await waitFor(() => writer.count > 20, { description: "writes before the fault", timeoutMs: 30_000 });
  const faults = await platform.hostlet.faults();
  await faults.killContainer(ns, before.primary!, "postgresql");
  await waitFor(async () => (await component()).status?.ha?.primary !== before.primary, {
    description: "a new primary",
    timeoutMs: 60_000,
  });
  const afterFailover = writer.count;
  await waitFor(() => writer.count > afterFailover + 20, {
    description: "writes to resume",
    timeoutMs: 60_000,
  });
  const report = await writer.stop();
  console.log(
    `failover: ${report.acknowledged.length} acknowledged writes, longest write gap ${report.longestGapMs} ms`,
  );
  const ha = (await component()).status!.ha!;
  assert.ok(ha.epoch > before.epoch, "the epoch moved");
  assert.deepEqual(await lostWrites(await settledPrimary(), "failover", report.acknowledged), []);
  const others = (await pods()).map((p) => p.metadata!.name!).filter((n) => n !== ha.primary);
  await waitStreaming(others, "the old primary to stream from the new one");
  await waitRunning();
  await assertRolesMatchReality();
});

test("partition: an isolated primary is replaced; after healing it is rewound and no acknowledged write from either side is lost", async () => {
  const before = (await component()).status!.ha!;
  await query(await rw(), "create table partition (id bigint primary key)");
  const writer = startWriter("partition");
  await waitFor(() => writer.count > 20, { description: "writes before the partition", timeoutMs: 30_000 });
  const faults = await platform.hostlet.faults();
  await faults.isolate(ns, before.primary!, { refuseKubeletApi: true });
  try {
    await waitFor(async () => (await component()).status?.ha?.primary !== before.primary, {
      description: "a replica to be promoted",
      timeoutMs: 60_000,
    });
    const promoted = writer.count;
    await waitFor(() => writer.count > promoted + 20, {
      description: "writes to resume on the new primary",
      timeoutMs: 60_000,
    });
  } finally {
    await faults.restore(ns, before.primary!);
  }
  const ha = (await component()).status!.ha!;
  const others = (await pods()).map((p) => p.metadata!.name!).filter((n) => n !== ha.primary);
  await waitStreaming(others, "the old primary to rejoin as a standby");
  const report = await writer.stop();
  console.log(
    `partition: ${report.acknowledged.length} acknowledged writes, longest write gap ${report.longestGapMs} ms`,
  );
  assert.deepEqual(await lostWrites(await settledPrimary(), "partition", report.acknowledged), []);
  await waitRunning();
  await assertRolesMatchReality();
});

test("scale 3 → 5 → 2 with chosen instances; replication slots follow the members", async () => {
  const slots = async () =>
    (
      await query<{ slot_name: string }>(await rw(), "select slot_name from pg_replication_slots order by 1")
    ).map((r) => r.slot_name);
  const slotOf = (pod: string) => `tessera_${pod.replace(/-/g, "_")}`;
  const waitSlotsFor = (replicas: string[], description: string) =>
    waitFor(
      async () => {
        const want = replicas.map(slotOf).sort().join();
        const got = (await slots()).join();
        if (got !== want) throw new Error(`slots on the primary: [${got}], expected [${want}]`);
        return true;
      },
      { description, timeoutMs: 60_000 },
    );
  await platform.apply(manifest(5, '      parameters: { max_connections: "250" }'));
  await waitRunning();
  let primary = (await component()).status!.ha!.primary!;
  let members = (await pods()).map((p) => p.metadata!.name!);
  assert.equal(members.length, 5);
  await waitStreaming(
    members.filter((m) => m !== primary),
    "four streaming replicas",
  );
  await waitSlotsFor(
    members.filter((m) => m !== primary),
    "a slot per replica",
  );
  // Take the primary and two others offline: the primary is switched over before it goes.
  const offline = [primary, ...members.filter((m) => m !== primary).slice(0, 2)];
  const keep = members.filter((m) => !offline.includes(m));
  await platform.apply(
    manifest(
      2,
      `      parameters: { max_connections: "250" }\n      offlineInstances: [${offline.join(", ")}]`,
    ),
  );
  await waitFor(async () => (await pods()).map((p) => p.metadata!.name!).join() === keep.join(), {
    description: `only ${keep.join(", ")} to remain`,
    timeoutMs: 240_000,
  });
  await waitRunning();
  primary = (await component()).status!.ha!.primary!;
  assert.ok(keep.includes(primary));
  members = (await pods()).map((p) => p.metadata!.name!);
  await waitStreaming(
    members.filter((m) => m !== primary),
    "the remaining replica to stream",
  );
  await waitSlotsFor(
    members.filter((m) => m !== primary),
    "slots of removed instances dropped",
  );
  const claims = await platform.client.list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
    namespace: ns,
  });
  assert.deepEqual(
    claims.items.map((c) => c.metadata!.name!).sort(),
    keep.map((k) => `data-${k}`),
  );
  const rows = await query<{ n: string }>(await rw(), "select count(*) as n from acked");
  assert.ok(Number(rows[0]!.n) > 0, "data survived the scaling");
});
