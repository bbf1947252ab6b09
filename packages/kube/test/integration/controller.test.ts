import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1ConfigMap, V1Secret } from "@kubernetes/client-node";
import { TestCluster } from "@tessera/testing";
import { Controller } from "../../src/controller.js";
import { InformerFactory, OWNER_INDEX } from "../../src/informer-factory.js";
import { waitFor } from "../../src/wait.js";

let cluster: TestCluster;

before(async () => {
  cluster = await TestCluster.start();
});

after(async () => {
  await cluster?.stop();
});

test("a change to an owned object requeues its owner, and keys are reconciled one at a time", async () => {
  const ns = await cluster.createNamespace();
  const factory = new InformerFactory(cluster.client, undefined, { namespace: ns });
  const owners = factory.get<V1ConfigMap>("v1", "ConfigMap");
  const children = factory.get<V1Secret>("v1", "Secret");
  const reconciled: string[] = [];
  let inFlight = 0;
  let maxInFlightPerKey = 0;
  const controller = new Controller({
    name: "test",
    concurrency: 4,
    reconcile: async ({ key }) => {
      inFlight++;
      maxInFlightPerKey = Math.max(maxInFlightPerKey, inFlight);
      reconciled.push(key);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
    },
  })
    .watches(owners)
    .owns(children, "ConfigMap");
  factory.start();
  controller.start();
  try {
    const owner = await cluster.client.create<V1ConfigMap>({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "owner", namespace: ns },
    });
    await waitFor(() => reconciled.includes(`${ns}/owner`), {
      description: "owner reconcile",
      timeoutMs: 10_000,
    });
    const before = reconciled.length;
    await cluster.client.create<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "child",
        namespace: ns,
        ownerReferences: [
          { apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata!.uid!, controller: true },
        ],
      },
      stringData: { a: "b" },
    });
    await waitFor(() => reconciled.length > before, { description: "the owner requeued", timeoutMs: 10_000 });
    assert.equal(reconciled.at(-1), `${ns}/owner`);
    assert.equal(
      children.byIndex(OWNER_INDEX, owner.metadata!.uid!).length,
      1,
      "owner index finds the child",
    );
    assert.equal(maxInFlightPerKey, 1, "one key is never reconciled concurrently");
  } finally {
    await controller.stop();
    await factory.stop();
  }
});

test("a failing reconcile is retried with back-off and requeueAfter schedules another pass", async () => {
  const ns = await cluster.createNamespace();
  const factory = new InformerFactory(cluster.client, undefined, { namespace: ns });
  const informer = factory.get<V1ConfigMap>("v1", "ConfigMap");
  const attempts: number[] = [];
  let periodic = 0;
  const controller = new Controller({
    name: "retry",
    baseRetryMs: 50,
    reconcile: async ({ name }) => {
      if (name === "flaky") {
        attempts.push(Date.now());
        if (attempts.length < 4) throw new Error("transient");
        return;
      }
      periodic++;
      return { requeueAfterMs: 50 };
    },
  }).watches(informer);
  factory.start();
  controller.start();
  try {
    for (const name of ["flaky", "poll"]) {
      await cluster.client.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns } });
    }
    await waitFor(() => attempts.length >= 4, { description: "four attempts", timeoutMs: 10_000 });
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    assert.ok(gaps[2]! > gaps[0]!, `retry gaps grow: ${gaps.join(",")}`);
    await waitFor(() => periodic >= 3, { description: "requeueAfter passes", timeoutMs: 10_000 });
    assert.equal(controller.queue.failures(`${ns}/flaky`), 0, "success forgets the failures");
  } finally {
    await controller.stop();
    await factory.stop();
  }
});
