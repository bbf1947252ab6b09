import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { API_VERSION, labels, type Cluster, type Component, type InstanceSet } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { TestPlatform } from "../../../../test/support/platform.js";
import { KV_ADDON } from "../fixtures/env.js";
import { getOps, opsManifest, opsRef, waitForOps, watchDeletions } from "../../../../test/support/ops.js";

// Every operation type end to end on a hostlet node with the kv test addon,
// whose "engine" keeps its role in a file on its volume: restarts, resizes,
// scaling and switchovers are checked against what the instances really do.

let platform: TestPlatform;
let ns: string;
const CLUSTER = "ops";
const KV = `${CLUSTER}-kv`;
let serial = 0;

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("ops");
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${CLUSTER}, namespace: ${ns} }
spec:
  clusterDef: kv
  topology: standalone
  terminationPolicy: Delete
  componentSpecs:
    - name: kv
      replicas: 3
      resources: { requests: { cpu: 10m, memory: 16Mi }, limits: { cpu: "1", memory: 128Mi } }
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
`);
  await platform.waitForPhase(ns, CLUSTER, "Running");
});

after(async () => {
  await platform?.stop();
});

/** Creates an operation on the cluster and waits for it to reach `phase`. */
async function run(type: string, extra = "", phase: "Succeed" | "Running" = "Succeed") {
  const name = `${type.toLowerCase()}-${++serial}`;
  await platform.apply(opsManifest(ns, name, CLUSTER, type, extra));
  return waitForOps(platform.client, ns, name, phase, 240_000);
}

function component(): Promise<Component> {
  return platform.component(ns, KV);
}

async function clusterSpec() {
  const cluster = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: CLUSTER,
  });
  return cluster.spec.componentSpecs[0]!;
}

async function pods(): Promise<V1Pod[]> {
  const list = await platform.client.list<V1Pod>("v1", "Pod", {
    namespace: ns,
    labelSelector: `${labels.component}=${KV}`,
  });
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
}

async function readFile(pod: string, path: string): Promise<string> {
  const result = await platform.cluster.kubectl(["exec", "-n", ns, pod, "-c", "kv", "--", "cat", path]);
  return result.code === 0 ? result.stdout.trim() : "";
}

/** The one instance whose role file says primary, and agrees with the recorded primary and the labels. */
async function primary(): Promise<string> {
  return waitFor(
    async () => {
      const all = await pods();
      const byFile = [];
      for (const pod of all)
        if ((await readFile(pod.metadata!.name!, "/data/role")) === "primary") byFile.push(pod);
      const labelled = all.filter((p) => p.metadata?.labels?.[labels.role] === "primary");
      const recorded = (await component()).status?.ha?.primary;
      const name = byFile[0]?.metadata?.name;
      return byFile.length === 1 &&
        labelled.length === 1 &&
        labelled[0]!.metadata!.name === name &&
        recorded === name
        ? name
        : undefined;
    },
    { description: "one primary, agreed on by its file, its label and the component", timeoutMs: 60_000 },
  );
}

test("Restart restarts every instance once, replicas first, the primary last after a switchover, and keeps the data", async () => {
  const oldPrimary = await primary();
  const before = new Map((await pods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
  const watch = watchDeletions(platform.client, ns, KV);
  let done;
  try {
    done = await run("Restart");
  } finally {
    await watch.stop();
  }
  const after = await pods();
  assert.equal(after.length, 3);
  for (const pod of after)
    assert.notEqual(pod.metadata!.uid, before.get(pod.metadata!.name!), "every pod is new");
  const order = watch.deletions.map((d) => d.pod);
  assert.equal(new Set(order).size, 3, JSON.stringify(watch.deletions));
  assert.equal(order.at(-1), oldPrimary, "the primary restarts last");
  assert.ok(
    watch.deletions.every((d) => d.role !== "primary"),
    `never restarted while primary: ${JSON.stringify(watch.deletions)}`,
  );
  assert.notEqual(await primary(), oldPrimary, "a switchover moved the primary first");
  assert.equal(done.status?.progress, "3/3");
  assert.deepEqual(
    done.status?.instances?.map((i) => [i.action, i.phase]),
    [0, 1, 2].map(() => ["Restart", "Succeed"]),
  );
  assert.ok(done.status?.steps?.[0]?.marker);
});

test("killed during a Restart, the operator finishes it with the marker it chose: every instance restarts exactly once", async () => {
  const watch = watchDeletions(platform.client, ns, KV);
  const name = `restart-${++serial}`;
  let marker: string | undefined;
  try {
    await platform.apply(opsManifest(ns, name, CLUSTER, "Restart"));
    await waitFor(() => watch.deletions.length > 0, {
      description: "the first instance restarting",
      timeoutMs: 60_000,
    });
    marker = (await getOps(platform.client, ns, name)).status?.steps?.[0]?.marker;
    await platform.operator.kill();
    await platform.operator.restart();
    const done = await waitForOps(platform.client, ns, name, "Succeed", 240_000);
    assert.equal(done.status?.steps?.[0]?.marker, marker, "the restarted operator kept the marker");
  } finally {
    await watch.stop();
  }
  assert.deepEqual(
    watch.deletions.map((d) => d.pod).sort(),
    [0, 1, 2].map((i) => `${KV}-${i}`),
    `each instance restarted once: ${JSON.stringify(watch.deletions)}`,
  );
});

test("VerticalScaling restarts the instances with the new resources, the primary last", async () => {
  const oldPrimary = await primary();
  const watch = watchDeletions(platform.client, ns, KV);
  try {
    await run(
      "VerticalScaling",
      "  verticalScaling:\n    - componentName: kv\n      resources: { limits: { cpu: 500m, memory: 96Mi } }\n",
    );
  } finally {
    await watch.stop();
  }
  assert.deepEqual((await clusterSpec()).resources, {
    requests: { cpu: "10m", memory: "16Mi" },
    limits: { cpu: "500m", memory: "96Mi" },
  });
  for (const pod of await pods()) {
    assert.equal(pod.spec!.containers[0]!.resources?.limits?.memory, "96Mi");
    assert.equal(pod.spec!.containers[0]!.resources?.requests?.memory, "16Mi", "amounts not named stay");
  }
  assert.equal(watch.deletions.at(-1)?.pod, oldPrimary);
  assert.ok(watch.deletions.every((d) => d.role !== "primary"));
});

test("a VerticalScaling that cannot be scheduled is cancelled: the resources and every instance are back as before", async () => {
  const nodes = await platform.client.list<V1Node>("v1", "Node");
  const cpu = nodes.items[0]!.status!.allocatable!.cpu!;
  const before = (await clusterSpec()).resources;
  // The whole node's CPU: allowed (no node is smaller), yet never free beside the other instances.
  const op = await run(
    "VerticalScaling",
    `  verticalScaling:\n    - componentName: kv\n      resources: { requests: { cpu: "${cpu}" }, limits: { cpu: "${cpu}" } }\n`,
    "Running",
  );
  const name = op.metadata.name!;
  await waitFor(
    async () =>
      (await getOps(platform.client, ns, name)).status?.instances?.some((i) =>
        /Unschedulable/.test(i.message ?? ""),
      ),
    { description: "an instance that cannot be scheduled, named in the progress", timeoutMs: 60_000 },
  );
  await platform.client.patch(opsRef(ns, name), { spec: { cancel: true } }, "merge");
  const cancelled = await waitForOps(platform.client, ns, name, "Cancelled", 120_000);
  assert.equal(cancelled.status?.reason, "CancelledWhileRunning");
  assert.deepEqual((await clusterSpec()).resources, before);
  await platform.waitForPhase(ns, CLUSTER, "Running");
  for (const pod of await pods()) assert.equal(pod.spec!.containers[0]!.resources?.limits?.cpu, "500m");
});

test("HorizontalScaling adds an instance, takes a chosen one offline with its volume, and brings it back", async () => {
  const out = await run(
    "HorizontalScaling",
    "  horizontalScaling:\n    - { componentName: kv, replicas: 4 }\n",
  );
  assert.deepEqual(
    out.status?.instances?.map((i) => [i.name, i.action, i.phase]),
    [[`${KV}-3`, "Create", "Succeed"]],
  );
  await platform.waitForPhase(ns, CLUSTER, "Running");
  assert.deepEqual(
    (await pods()).map((p) => p.metadata!.name),
    [0, 1, 2, 3].map((i) => `${KV}-${i}`),
  );
  const current = await primary();
  assert.match(
    await readFile(current, "/data/members"),
    new RegExp(`^${KV}-3$`, "m"),
    "the new instance joined",
  );

  const victim = [`${KV}-1`, `${KV}-2`].find((p) => p !== current)!;
  const offline = await run(
    "HorizontalScaling",
    `  horizontalScaling:\n    - { componentName: kv, offlineInstances: [${victim}] }\n`,
  );
  assert.deepEqual(
    offline.status?.instances?.map((i) => [i.name, i.action, i.phase]),
    [[victim, "Remove", "Succeed"]],
  );
  const spec = await clusterSpec();
  assert.equal(spec.replicas, 3);
  assert.deepEqual(spec.offlineInstances, [victim]);
  assert.ok(!(await pods()).some((p) => p.metadata!.name === victim));
  await waitFor(
    async () =>
      !(await platform.client.find({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: ns,
        name: `data-${victim}`,
      })),
    {
      description: `the volume of ${victim} to go`,
      timeoutMs: 30_000,
    },
  );

  await run(
    "HorizontalScaling",
    `  horizontalScaling:\n    - { componentName: kv, onlineInstances: [${victim}] }\n`,
  );
  assert.equal((await clusterSpec()).replicas, 4);
  assert.ok((await pods()).some((p) => p.metadata!.name === victim));
});

test("Switchover moves the writable role to the named candidate, then to the best replica", async () => {
  const from = await primary();
  const candidate = (await pods()).map((p) => p.metadata!.name!).find((p) => p !== from)!;
  const epoch = (await component()).status!.ha!.epoch;
  const named = await run(
    "Switchover",
    `  switchover:\n    - { componentName: kv, candidateName: ${candidate} }\n`,
  );
  assert.equal(await primary(), candidate);
  assert.equal(named.status?.steps?.[0]?.from, from);
  assert.equal(named.status?.steps?.[0]?.candidate, candidate);
  assert.ok((await component()).status!.ha!.epoch > epoch, "the epoch moved");
  assert.equal(await readFile(from, "/data/role"), "secondary");

  const best = await run("Switchover", "  switchover:\n    - componentName: kv\n");
  const chosen = best.status!.steps![0]!.candidate!;
  assert.notEqual(chosen, candidate);
  assert.equal(await primary(), chosen);
});

test("Stop keeps the volumes and Start brings every instance back with its data", async () => {
  const current = await primary();
  await run("Stop");
  assert.deepEqual(await pods(), []);
  const claims = await platform.client.list("v1", "PersistentVolumeClaim", {
    namespace: ns,
    labelSelector: `${labels.component}=${KV}`,
  });
  assert.equal(claims.items.length, 4);
  // The set's status says so too (it runs no revision now): its write was accepted.
  await waitFor(
    async () => {
      const set = await platform.client.get<InstanceSet>({
        apiVersion: API_VERSION,
        kind: "InstanceSet",
        namespace: ns,
        name: KV,
      });
      return set.status?.replicas === 0 && set.status.updateRevision === undefined;
    },
    { description: "the stopped InstanceSet's status", timeoutMs: 30_000 },
  );
  await run("Start");
  assert.equal((await pods()).length, 4);
  assert.equal(await primary(), current, "the roles (kept in the volumes) survived");
});
