import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1PersistentVolumeClaim, V1StorageClass } from "@kubernetes/client-node";
import { placementOf } from "../../src/storage/provisioner.js";

const hostname = (...values: string[]) => ({
  matchLabelExpressions: [{ key: "kubernetes.io/hostname", values }],
});
const storageClass = (extra: Partial<V1StorageClass>): V1StorageClass => ({
  metadata: { name: "local" },
  provisioner: "tessera.dev/local-path",
  ...extra,
});
const claim = (selectedNode?: string): V1PersistentVolumeClaim => ({
  metadata: {
    name: "data",
    ...(selectedNode ? { annotations: { "volume.kubernetes.io/selected-node": selectedNode } } : {}),
  },
});

test("a WaitForFirstConsumer claim belongs on the node the scheduler selected, and nowhere before", () => {
  const later = storageClass({
    volumeBindingMode: "WaitForFirstConsumer",
    allowedTopologies: [hostname("a")],
  });
  assert.equal(placementOf(claim("b"), later), "b");
  assert.equal(placementOf(claim(), later), undefined);
});

test("an Immediate claim belongs on the single node its class allows", () => {
  assert.equal(
    placementOf(
      claim(),
      storageClass({ volumeBindingMode: "Immediate", allowedTopologies: [hostname("a")] }),
    ),
    "a",
  );
});

test("an Immediate class that does not name exactly one node places nothing", () => {
  for (const allowedTopologies of [
    undefined,
    [],
    [hostname("a", "b")],
    [hostname("a"), hostname("b")],
    [{ matchLabelExpressions: [{ key: "topology.kubernetes.io/zone", values: ["a"] }] }],
  ]) {
    assert.equal(
      placementOf(claim("a"), storageClass({ volumeBindingMode: "Immediate", allowedTopologies })),
      undefined,
      JSON.stringify(allowedTopologies),
    );
  }
});
