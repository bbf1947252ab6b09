import { test } from "node:test";
import assert from "node:assert/strict";
import { annotations } from "@tessera/api";
import type { KubeClient, KubernetesObject } from "@tessera/kube";
import { applyUnlessCurrent, contains } from "../../src/apply.js";

test("contains: every wanted field must match; extra fields in the actual object do not matter", () => {
  const actual = { spec: { ports: [{ port: 5432, protocol: "TCP" }], type: "ClusterIP" }, status: {} };
  assert.equal(contains(actual, { spec: { ports: [{ port: 5432 }] } }), true);
  assert.equal(contains(actual, { spec: { ports: [{ port: 5433 }] } }), false);
  assert.equal(contains(actual, { spec: { ports: [] } }), false, "lists must have the same length");
  assert.equal(contains(actual, { spec: { selector: { app: "x" } } }), false, "a missing field differs");
  assert.equal(contains(actual, { spec: { type: undefined } }), true, "undefined fields are not set");
  assert.equal(contains({ data: { a: "1" } }, { data: "1" }), false);
});

/** Records applies; returns what it was given, as the API server would store it. */
function recordingClient(): { client: KubeClient; applied: KubernetesObject[] } {
  const applied: KubernetesObject[] = [];
  const client = {
    apply: async (object: KubernetesObject) => {
      applied.push(object);
      return structuredClone(object);
    },
  } as unknown as KubeClient;
  return { client, applied };
}

/** An informer's cache holding at most the given object. */
function cacheHolding<T>(object: T | undefined): { get: () => T | undefined } {
  return { get: () => object };
}

const configMap = (value: string): KubernetesObject & { data: Record<string, string> } => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "c", namespace: "n", labels: { a: "b" } },
  data: { key: value },
});

test("an object is applied with a hash of its desired state, and not again while the cache shows it", async () => {
  const { client, applied } = recordingClient();
  const stored = await applyUnlessCurrent(client, cacheHolding(undefined), configMap("1"));
  assert.equal(applied.length, 1);
  assert.ok(stored.metadata?.annotations?.[annotations.appliedHash]);
  // What the server adds (status, defaults, other managers' fields) does not force an apply.
  const cached = { ...structuredClone(stored), metadata: { ...stored.metadata, resourceVersion: "7" } };
  assert.equal(await applyUnlessCurrent(client, cacheHolding(cached), configMap("1")), cached);
  assert.equal(applied.length, 1);
});

test("a changed intent, a drifted field or a dropped field is applied again", async () => {
  const { client, applied } = recordingClient();
  const stored = await applyUnlessCurrent(client, cacheHolding(undefined), configMap("1"));
  await applyUnlessCurrent(client, cacheHolding(stored), configMap("2"));
  assert.equal(applied.length, 2, "changed value");
  const drifted = structuredClone(stored);
  drifted.data.key = "edited";
  await applyUnlessCurrent(client, cacheHolding(drifted), configMap("1"));
  assert.equal(applied.length, 3, "someone else changed a field this operator owns");
  // Dropping a label: the cached object still holds every desired field, but the hash differs,
  // and only an apply prunes the label the operator no longer wants.
  const withoutLabel = configMap("1");
  delete withoutLabel.metadata!.labels;
  await applyUnlessCurrent(client, cacheHolding(stored), withoutLabel);
  assert.equal(applied.length, 4, "dropped field");
});
