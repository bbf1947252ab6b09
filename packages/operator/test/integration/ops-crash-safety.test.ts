import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { API_VERSION, labels, type Cluster, type OpsRequest } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import type { TestPlatform } from "../../../../test/support/platform.js";
import { kvCluster, startOperatorEnv } from "../fixtures/env.js";
import { eventReasons, getOps, opsManifest, opsRef, waitForOps } from "../../../../test/support/ops.js";

// The operator killed at chosen points of an operation's life: a restarted
// operator carries on from the status it persisted, never starts anything
// twice and keeps the queue's order.

let env: TestPlatform;

before(async () => {
  env = await startOperatorEnv();
});

after(async () => {
  await env?.stop();
});

async function pods(ns: string, cluster: string): Promise<V1Pod[]> {
  const list = await env.client.list<V1Pod>("v1", "Pod", {
    namespace: ns,
    labelSelector: `${labels.cluster}=${cluster}`,
  });
  return list.items;
}

async function claims(ns: string, cluster: string): Promise<number> {
  const list = await env.client.list("v1", "PersistentVolumeClaim", {
    namespace: ns,
    labelSelector: `${labels.cluster}=${cluster}`,
  });
  return list.items.length;
}

async function phaseOf(ns: string, name: string): Promise<string | undefined> {
  return (await env.client.find<OpsRequest>(opsRef(ns, name)))?.status?.phase;
}

/** Kills the operator the moment `point` becomes true, then starts a fresh one. */
async function crashWhen(description: string, point: () => Promise<boolean>) {
  await waitFor(point, { description, timeoutMs: 30_000, intervalMs: 10 });
  await env.operator.kill();
  await env.operator.restart();
}

async function newCluster(name: string): Promise<string> {
  const ns = await env.cluster.createNamespace();
  await env.apply(kvCluster(ns, name, { replicas: 3 }));
  await waitFor(async () => (await pods(ns, name)).length === 3, {
    description: `the pods of ${name}`,
    timeoutMs: 60_000,
  });
  return ns;
}

const stopKillPoints: [string, (ns: string) => Promise<boolean>][] = [
  ["the operation started", async (ns) => (await phaseOf(ns, "stop")) === "Running"],
  [
    "the first pod is being deleted",
    async (ns) =>
      (await pods(ns, "crash")).some((p) => p.metadata?.deletionTimestamp) ||
      (await pods(ns, "crash")).length < 3,
  ],
];

for (const [point, reached] of stopKillPoints) {
  test(`killed when ${point}, a Stop resumes and succeeds once`, async () => {
    const ns = await newCluster("crash");
    await env.apply(opsManifest(ns, "stop", "crash", "Stop"));
    await crashWhen(point, () => reached(ns));
    const done = await waitForOps(env.client, ns, "stop", "Succeed");
    assert.equal(done.status?.progress, "3/3");
    assert.deepEqual(
      done.status?.steps?.map((s) => s.phase),
      ["Succeed"],
    );
    assert.deepEqual(await pods(ns, "crash"), []);
    assert.equal(await claims(ns, "crash"), 3, "the volumes stay");
    const cluster = await env.client.get<Cluster>({
      apiVersion: API_VERSION,
      kind: "Cluster",
      namespace: ns,
      name: "crash",
    });
    assert.equal(cluster.status?.phase, "Stopped");
    const reasons = await eventReasons(env.client, ns, "stop");
    // An Event follows the status write it reports, so a kill in between loses it, never doubles it.
    assert.ok(
      reasons.filter((r) => r === "Started").length <= 1,
      `never started twice: ${reasons.join(", ")}`,
    );
    assert.equal(reasons.filter((r) => r === "Succeed").length, 1, `ended once: ${reasons.join(", ")}`);
  });
}

test("killed while a cancelled Start puts the cluster back, the operator finishes the cancellation", async () => {
  const ns = await newCluster("cancel");
  await env.apply(opsManifest(ns, "stop", "cancel", "Stop"));
  await waitForOps(env.client, ns, "stop", "Succeed");
  await env.apply(opsManifest(ns, "start", "cancel", "Start"));
  await waitForOps(env.client, ns, "start", "Running");
  await waitFor(async () => (await pods(ns, "cancel")).length === 3, {
    description: "the pods to come back",
    timeoutMs: 30_000,
  });
  await env.client.patch(opsRef(ns, "start"), { spec: { cancel: true } }, "merge");
  await crashWhen("the cancellation started", async () => (await phaseOf(ns, "start")) === "Cancelling");
  await waitForOps(env.client, ns, "start", "Cancelled");
  await waitFor(async () => (await pods(ns, "cancel")).length === 0, {
    description: "the pods to be stopped again",
    timeoutMs: 30_000,
  });
});

test("killed while operations are queued, the restarted operator keeps their order", async () => {
  const ns = await newCluster("queue");
  await env.apply(opsManifest(ns, "a-stop", "queue", "Stop"));
  await waitForOps(env.client, ns, "a-stop", "Succeed");
  await env.apply(opsManifest(ns, "b-start", "queue", "Start"));
  await waitForOps(env.client, ns, "b-start", "Running");
  await env.apply(opsManifest(ns, "c-stop", "queue", "Stop"));
  await crashWhen(
    "the second operation is queued",
    async () => (await getOps(env.client, ns, "c-stop")).status?.reason === "Queued",
  );
  // The queued one waits through the restart: the running one is still first.
  await waitFor(
    async () =>
      (await fetch(`http://127.0.0.1:${env.operator.metricsPort}/readyz`).then((r) => r.text())) === "leader",
    { description: "the new operator to lead", timeoutMs: 30_000 },
  );
  assert.equal(await phaseOf(ns, "c-stop"), "Pending");
  assert.equal(await phaseOf(ns, "b-start"), "Running");
  await env.client.patch(opsRef(ns, "b-start"), { spec: { cancel: true } }, "merge");
  const first = await waitForOps(env.client, ns, "b-start", "Cancelled");
  const second = await waitForOps(env.client, ns, "c-stop", "Succeed");
  assert.ok(Date.parse(second.status!.startTimestamp!) >= Date.parse(first.status!.completionTimestamp!));
});
