import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Node, V1StorageClass } from "@kubernetes/client-node";
import type { Cluster, ClusterComponentSpec } from "@tessera/api";
import { placementErrors, type PlacementFacts } from "../../src/webhook/placement.js";

const cluster = (component: Partial<ClusterComponentSpec>): Cluster => ({
  apiVersion: "tessera.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "c1", namespace: "ns" },
  spec: {
    clusterDef: "kv",
    terminationPolicy: "Delete",
    componentSpecs: [{ name: "kv", replicas: 1, ...component }],
  },
});

const storageClass = (name: string, isDefault = false): V1StorageClass => ({
  provisioner: "example.com/disk",
  metadata: {
    name,
    ...(isDefault ? { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } } : {}),
  },
});

const node = (name: string, cpu: string, memory: string, ready = true, unschedulable = false): V1Node => ({
  metadata: { name },
  spec: { unschedulable },
  status: {
    allocatable: { cpu, memory },
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
  },
});

const facts = (overrides: Partial<PlacementFacts> = {}): PlacementFacts => ({
  storageClasses: [storageClass("local", true), storageClass("fast")],
  nodes: [node("small", "2", "8Gi"), node("big", "8", "24Gi")],
  ...overrides,
});

const data = (storageClassName?: string) => ({
  name: "data",
  spec: { ...(storageClassName ? { storageClassName } : {}), resources: { requests: { storage: "1Gi" } } },
});

test("a claim naming an unknown StorageClass is refused with the installed ones", () => {
  assert.deepEqual(placementErrors(cluster({ volumeClaimTemplates: [data("gold")] }), undefined, facts()), [
    'spec.componentSpecs[0].volumeClaimTemplates[0].spec.storageClassName: StorageClass "gold" not found; use one of "local", "fast"',
  ]);
  assert.deepEqual(
    placementErrors(cluster({ volumeClaimTemplates: [data("fast")] }), undefined, facts()),
    [],
  );
});

test("a claim without a class needs a default StorageClass", () => {
  const unnamed = cluster({ volumeClaimTemplates: [data()] });
  assert.deepEqual(placementErrors(unnamed, undefined, facts()), []);
  assert.deepEqual(placementErrors(unnamed, undefined, facts({ storageClasses: [storageClass("fast")] })), [
    'spec.componentSpecs[0].volumeClaimTemplates[0].spec.storageClassName: not set and the cluster has no default StorageClass; name one of "fast", or mark one default with the annotation storageclass.kubernetes.io/is-default-class: "true"',
  ]);
});

test("requests beyond the largest ready, schedulable node are refused with that node's allocatable", () => {
  const huge = cluster({ resources: { limits: { memory: "10Ti" } } });
  assert.deepEqual(placementErrors(huge, undefined, facts()), [
    'spec.componentSpecs[0].resources.limits.memory: 10Ti (the request, as none is set) is more than any node can allocate (the largest, "big", has 24Gi memory); request at most 24Gi, or add a node with more memory',
  ]);
  const cpu = cluster({ resources: { requests: { cpu: "12" }, limits: { cpu: "16" } } });
  assert.match(placementErrors(cpu, undefined, facts()).join(), /resources\.requests\.cpu: 12 is more than/);
  const fits = cluster({ resources: { requests: { cpu: "8", memory: "24Gi" } } });
  assert.deepEqual(placementErrors(fits, undefined, facts()), []);
});

test("nodes that are not ready or not schedulable do not count, and without any nothing is refused", () => {
  const big = cluster({ resources: { requests: { memory: "16Gi" } } });
  const nodes = [
    node("small", "2", "8Gi"),
    node("down", "8", "24Gi", false),
    node("cordoned", "8", "24Gi", true, true),
  ];
  assert.match(
    placementErrors(big, undefined, facts({ nodes })).join(),
    /the largest, "small", has 8Gi memory/,
  );
  assert.deepEqual(placementErrors(big, undefined, facts({ nodes: [] })), []);
  assert.deepEqual(placementErrors(big, undefined, facts({ nodes: [node("down", "8", "24Gi", false)] })), []);
});

test("an instance template is checked with its own resources", () => {
  const templated = cluster({
    instances: [{ name: "huge", replicas: 1, resources: { requests: { cpu: "64" } } }],
  });
  assert.match(
    placementErrors(templated, undefined, facts()).join(),
    /^spec\.componentSpecs\[0\]\.instances\[0\]\.resources\.requests\.cpu: 64/,
  );
});

test("an update checks only what changed, so a class or node gone since creation blocks nothing else", () => {
  const old = cluster({
    replicas: 1,
    volumeClaimTemplates: [data("gone")],
    resources: { requests: { memory: "64Gi" } },
  });
  const scaled = cluster({
    replicas: 2,
    volumeClaimTemplates: [data("gone")],
    resources: { requests: { memory: "64Gi" } },
  });
  assert.deepEqual(placementErrors(scaled, old, facts()), []);
  const resized = cluster({
    replicas: 1,
    volumeClaimTemplates: [data("gone")],
    resources: { requests: { memory: "32Gi" } },
  });
  assert.match(placementErrors(resized, old, facts()).join(), /requests\.memory: 32Gi is more than any node/);
});
