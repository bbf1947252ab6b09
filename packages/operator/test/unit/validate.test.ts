import { test } from "node:test";
import assert from "node:assert/strict";
import type { Cluster } from "@tessera/api";
import { validateCluster, validateClusterDelete } from "../../src/webhook/validate.js";
import { catalog } from "../fixtures/definitions.js";

const cluster = (spec: Partial<Cluster["spec"]>): Cluster => ({
  apiVersion: "tessera.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "c1", namespace: "ns" },
  spec: {
    clusterDef: "kv",
    topology: "standalone",
    terminationPolicy: "Delete",
    componentSpecs: [
      {
        name: "kv",
        replicas: 1,
        volumeClaimTemplates: [{ name: "data", spec: { resources: { requests: { storage: "2Gi" } } } }],
      },
    ],
    ...spec,
  },
});

test("a valid cluster passes", () => {
  assert.deepEqual(validateCluster(catalog(), cluster({})), []);
});

test("schema problems are reported with their field path", () => {
  const errors = validateCluster(catalog(), cluster({ componentSpecs: [{ name: "KV!", replicas: -1 }] }));
  assert.ok(
    errors.some((e) => e.startsWith("spec.componentSpecs[0].name:")),
    errors.join("\n"),
  );
  assert.ok(
    errors.some((e) => e.startsWith("spec.componentSpecs[0].replicas:")),
    errors.join("\n"),
  );
});

test("replicas outside the definition's limits are refused with the range", () => {
  const errors = validateCluster(catalog(), cluster({ componentSpecs: [{ name: "kv", replicas: 9 }] }));
  assert.deepEqual(errors, [
    'spec.componentSpecs[0].replicas: 9 is outside 1..5 allowed by ComponentDefinition "kv-1.1"',
  ]);
});

test("offline instances must belong to the component", () => {
  const errors = validateCluster(
    catalog(),
    cluster({ componentSpecs: [{ name: "kv", replicas: 1, offlineInstances: ["other-0"] }] }),
  );
  assert.match(
    errors[0] ?? "",
    /offlineInstances\[0\]: "other-0" is not an instance of this component \(names start with "c1-kv-"\)/,
  );
});

test("updates may not shrink volumes or change the topology", () => {
  const old = cluster({});
  const shrunk = cluster({
    componentSpecs: [
      {
        name: "kv",
        replicas: 1,
        volumeClaimTemplates: [{ name: "data", spec: { resources: { requests: { storage: "1Gi" } } } }],
      },
    ],
  });
  assert.match(
    validateCluster(catalog(), shrunk, old).join(";"),
    /volumeClaimTemplates\[0\]\.spec\.resources\.requests\.storage: volumes cannot shrink \(from 2Gi to 1Gi\)/,
  );
  assert.match(
    validateCluster(
      catalog(),
      cluster({
        topology: "replication",
        componentSpecs: [
          { name: "kv", replicas: 1 },
          { name: "watcher", replicas: 1 },
        ],
      }),
      old,
    ).join(";"),
    /spec\.topology: is immutable/,
  );
});

test("deleting a DoNotTerminate cluster is refused with the fix", () => {
  assert.match(
    validateClusterDelete(cluster({ terminationPolicy: "DoNotTerminate" })) ?? "",
    /set it to Delete or WipeOut/,
  );
  assert.equal(validateClusterDelete(cluster({})), undefined);
});
