import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { CoreV1Event, V1ConfigMap } from "@kubernetes/client-node";
import { TestCluster } from "@tessera/testing";
import type { ApiError } from "../../src/errors.js";
import { isConflict } from "../../src/errors.js";
import { EventRecorder } from "../../src/events.js";
import { addFinalizer, hasFinalizer, removeFinalizer, updateStatus } from "../../src/update.js";
import { waitFor } from "../../src/wait.js";

let cluster: TestCluster;

interface Widget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; finalizers?: string[]; resourceVersion?: string };
  spec?: { size?: number };
  status?: { phase?: string; observed?: number };
}

before(async () => {
  cluster = await TestCluster.start();
  await cluster.client.create({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "widgets.test.tessera.dev" },
    spec: {
      group: "test.tessera.dev",
      scope: "Namespaced",
      names: { plural: "widgets", singular: "widget", kind: "Widget" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: { type: "object", properties: { size: { type: "integer" } } },
                status: {
                  type: "object",
                  properties: { phase: { type: "string" }, observed: { type: "integer" } },
                },
              },
            },
          },
        },
      ],
    },
  });
  await waitFor(() => cluster.client.resource("test.tessera.dev/v1", "Widget").then(() => true), {
    description: "the Widget CRD to be served",
    timeoutMs: 30_000,
  });
});

after(async () => {
  await cluster?.stop();
});

const cm = (ns: string, data: Record<string, string>): V1ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "shared", namespace: ns },
  data,
});

test("server-side apply: one manager owns its fields, conflicts are reported, omitted fields are removed", async () => {
  const ns = await cluster.createNamespace();
  await cluster.client.apply(cm(ns, { a: "1", b: "1" }), "tessera-operator");
  const conflict = await cluster.client
    .apply(cm(ns, { a: "2" }), "someone-else", { force: false })
    .catch((e) => e);
  assert.ok(isConflict(conflict), "a second manager changing an owned field conflicts");
  assert.match((conflict as ApiError).message, /conflict/i);
  const applied = await cluster.client.apply(cm(ns, { a: "1" }), "tessera-operator");
  assert.deepEqual(applied.data, { a: "1" }, "a field the manager stops stating is removed");
  const managers = (applied.metadata?.managedFields ?? []).map((f) => f.manager);
  assert.deepEqual(managers, ["tessera-operator"]);
  const forced = await cluster.client.apply(cm(ns, { a: "3" }), "someone-else", { force: true });
  assert.equal(forced.data?.a, "3", "force takes ownership");
});

test("status updates go through the status subresource and survive concurrent writers", async () => {
  const ns = await cluster.createNamespace();
  const ref = { apiVersion: "test.tessera.dev/v1", kind: "Widget", namespace: ns, name: "w" };
  await cluster.client.create<Widget>({ ...ref, metadata: { name: "w", namespace: ns }, spec: { size: 1 } });
  await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      updateStatus<Widget>(cluster.client, ref, (w) => {
        w.status = { ...w.status, observed: (w.status?.observed ?? 0) + 1, phase: `writer-${i}` };
        w.spec = { size: 99 };
      }),
    ),
  );
  const stored = await cluster.client.get<Widget>(ref);
  assert.equal(stored.status?.observed, 5, "no update was lost to a conflict");
  assert.equal(stored.spec?.size, 1, "the status subresource ignores spec changes");
  const missing = await updateStatus<Widget>(cluster.client, { ...ref, name: "absent" }, () => undefined);
  assert.equal(missing, undefined);
});

test("finalizers are added once and removed, and removing the last lets a deleted object go", async () => {
  const ns = await cluster.createNamespace();
  const ref = { apiVersion: "test.tessera.dev/v1", kind: "Widget", namespace: ns, name: "f" };
  await cluster.client.create<Widget>({ ...ref, metadata: { name: "f", namespace: ns } });
  await addFinalizer(cluster.client, ref, "tessera.dev/protect");
  await addFinalizer(cluster.client, ref, "tessera.dev/protect");
  const protectedWidget = await cluster.client.get<Widget>(ref);
  assert.deepEqual(protectedWidget.metadata.finalizers, ["tessera.dev/protect"]);
  await cluster.client.delete(ref);
  const terminating = await cluster.client.get<Widget>(ref);
  assert.ok(hasFinalizer(terminating, "tessera.dev/protect"), "the finalizer holds the object");
  await removeFinalizer(cluster.client, ref, "tessera.dev/protect");
  await waitFor(async () => (await cluster.client.find(ref)) === undefined, {
    description: "the object to go",
    timeoutMs: 10_000,
  });
});

test("events are recorded on the object and repeats increase the count", async () => {
  const ns = await cluster.createNamespace();
  const object = await cluster.client.create(cm(ns, {}));
  const recorder = new EventRecorder(cluster.client, "tessera-test");
  await recorder.record(object, "Warning", "ProbeFailed", "the probe failed");
  await recorder.record(object, "Warning", "ProbeFailed", "the probe failed");
  await recorder.record(object, "Normal", "Ready", "ready");
  const events = await cluster.client.list<CoreV1Event>("v1", "Event", { namespace: ns });
  const byReason = Object.fromEntries(events.items.map((e) => [e.reason, e]));
  assert.equal(events.items.length, 2);
  assert.equal(byReason.ProbeFailed?.count, 2);
  assert.equal(byReason.ProbeFailed?.involvedObject.uid, object.metadata?.uid);
  assert.equal(byReason.Ready?.type, "Normal");
  const described = await cluster.kubectl(["describe", "configmap", "shared", "-n", ns]);
  assert.match(described.stdout, /ProbeFailed/);
});
