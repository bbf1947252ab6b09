import { test } from "node:test";
import assert from "node:assert/strict";
import { restoredClusterSpec, type Backup, type Cluster } from "../../src/index.js";

test("a restored cluster is shaped like the source's components, at the backup's version, without its backup settings", () => {
  const source: Cluster = {
    apiVersion: "tessera.dev/v1alpha1",
    kind: "Cluster",
    metadata: { name: "c1", namespace: "ns" },
    spec: {
      clusterDef: "kv",
      topology: "standalone",
      terminationPolicy: "DoNotTerminate",
      componentSpecs: [
        {
          name: "kv",
          replicas: 3,
          offlineInstances: ["c1-kv-1"],
          resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
          serviceVersion: "2.0",
          parameters: { maxmemory: "64mb" },
          stop: true,
          services: [{ name: "outside", serviceType: "NodePort" }],
        },
      ],
      backup: { repo: "local", schedule: "0 3 * * *", pointInTime: true, encryptionKeySecret: "key" },
    },
  };
  const backup = {
    apiVersion: "tessera.dev/v1alpha1",
    kind: "Backup",
    metadata: { name: "b1", namespace: "ns" },
    spec: { clusterName: "c1" },
    status: { phase: "Completed", component: "kv", serviceVersion: "1.0" },
  } as Backup;
  assert.deepEqual(
    restoredClusterSpec(source, backup, { backup: "b1", pointInTime: "2026-12-03T14:05:00Z" }),
    {
      clusterDef: "kv",
      topology: "standalone",
      terminationPolicy: "Delete",
      componentSpecs: [
        {
          name: "kv",
          serviceVersion: "1.0",
          replicas: 3,
          resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
          parameters: { maxmemory: "64mb" },
        },
      ],
      restore: { backup: "b1", pointInTime: "2026-12-03T14:05:00Z" },
    },
  );
});
