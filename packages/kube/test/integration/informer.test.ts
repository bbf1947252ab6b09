import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1ConfigMap } from "@kubernetes/client-node";
import { TestCluster } from "@tessera/testing";
import { Informer, objectKey } from "../../src/informer.js";
import { waitFor } from "../../src/wait.js";

let cluster: TestCluster;

before(async () => {
  cluster = await TestCluster.start();
});

after(async () => {
  await cluster?.stop();
});

function configMap(namespace: string, name: string, data: Record<string, string>, labels = {}): V1ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace, labels }, data };
}

test("the informer sees adds, updates and deletes and keeps an owner-style index", async () => {
  const ns = await cluster.createNamespace();
  const informer = new Informer<V1ConfigMap>(cluster.client, {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: ns,
  });
  informer.addIndex("app", (cm) => (cm.metadata?.labels?.app ? [cm.metadata.labels.app] : []));
  const events: string[] = [];
  informer.addHandlers({
    add: (cm) => events.push(`add:${cm.metadata?.name}`),
    update: (_old, cm) => events.push(`update:${cm.metadata?.name}:${cm.data?.v}`),
    delete: (cm) => events.push(`delete:${cm.metadata?.name}`),
  });
  await cluster.client.create(configMap(ns, "before-start", { v: "0" }, { app: "a" }));
  informer.start();
  try {
    await informer.waitForSync();
    assert.ok(informer.get(`${ns}/before-start`), "initial list fills the cache");
    await cluster.client.create(configMap(ns, "c1", { v: "1" }, { app: "a" }));
    await cluster.client.apply(configMap(ns, "c1", { v: "2" }, { app: "a" }), "test");
    await waitFor(() => informer.get(`${ns}/c1`)?.data?.v === "2", {
      description: "update",
      timeoutMs: 10_000,
    });
    assert.deepEqual(informer.byIndex("app", "a").map(objectKey).sort(), [`${ns}/before-start`, `${ns}/c1`]);
    await cluster.client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "c1" });
    await waitFor(() => informer.get(`${ns}/c1`) === undefined, { description: "delete", timeoutMs: 10_000 });
    assert.deepEqual(informer.byIndex("app", "a").map(objectKey), [`${ns}/before-start`]);
    assert.deepEqual(events, ["add:before-start", "add:c1", "update:c1:2", "delete:c1"]);
  } finally {
    await informer.stop();
  }
});

test("the informer survives an apiserver restart and catches up on changes made meanwhile", async () => {
  const ns = await cluster.createNamespace();
  const informer = new Informer<V1ConfigMap>(cluster.client, {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: ns,
  });
  const deleted: string[] = [];
  informer.addHandlers({ delete: (cm) => deleted.push(cm.metadata!.name!) });
  await cluster.client.create(configMap(ns, "doomed", {}));
  informer.start();
  try {
    await informer.waitForSync();
    await cluster.plane.stopApiserver();
    await cluster.plane.startApiserver();
    // Changes made right after the restart must reach the informer through its re-established watch or relist.
    await cluster.client.create(configMap(ns, "after-restart", { v: "1" }));
    await cluster.client.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "doomed" });
    await waitFor(() => informer.get(`${ns}/after-restart`)?.data?.v === "1", {
      description: "the informer to see an object created after the restart",
      timeoutMs: 30_000,
    });
    await waitFor(() => deleted.includes("doomed"), { description: "the delete", timeoutMs: 30_000 });
    await cluster.client.apply(configMap(ns, "after-restart", { v: "2" }), "test");
    await waitFor(() => informer.get(`${ns}/after-restart`)?.data?.v === "2", {
      description: "the informer to keep watching",
      timeoutMs: 30_000,
    });
  } finally {
    await informer.stop();
  }
});

test("periodic resync re-delivers cached objects as updates", async () => {
  const ns = await cluster.createNamespace();
  await cluster.client.create(configMap(ns, "steady", {}));
  const informer = new Informer<V1ConfigMap>(cluster.client, {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: ns,
    resyncMs: 200,
  });
  let resyncs = 0;
  informer.addHandlers({ update: (a, b) => a === b && resyncs++ });
  informer.start();
  try {
    await waitFor(() => resyncs >= 2, { description: "two resyncs", timeoutMs: 10_000 });
  } finally {
    await informer.stop();
  }
});
