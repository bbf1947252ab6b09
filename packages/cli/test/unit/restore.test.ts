import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backup, Cluster, ComponentDefinition } from "@tessera/api";
import { defaultVolumeSize, parsePointInTime, restoredCluster } from "../../src/cluster/restore.js";
import { UsageError } from "../../src/errors.js";

const backup: Backup = {
  apiVersion: "tessera.dev/v1alpha1",
  kind: "Backup",
  metadata: { name: "pg-1", namespace: "prod" },
  spec: { clusterName: "pg", deletionPolicy: "Delete" },
  status: {
    phase: "Completed",
    component: "postgresql",
    compDef: "postgresql-15",
    serviceVersion: "15.4",
    sourceBytes: 3 * 1024 ** 3,
    sourceClusterUID: "u1",
  },
};

const source: Cluster = {
  apiVersion: "tessera.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "pg", namespace: "prod", uid: "u1" },
  spec: {
    clusterDef: "postgresql",
    topology: "replication",
    terminationPolicy: "DoNotTerminate",
    componentSpecs: [
      {
        name: "postgresql",
        serviceVersion: "15.6",
        replicas: 3,
        resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "1", memory: "1Gi" } },
        volumeClaimTemplates: [
          {
            name: "data",
            spec: {
              storageClassName: "fast",
              accessModes: ["ReadWriteOnce"],
              resources: { requests: { storage: "20Gi" } },
            },
          },
        ],
        parameters: { work_mem: "64MB" },
        offlineInstances: ["pg-postgresql-1"],
        services: [{ name: "external", serviceType: "NodePort", roleSelector: "primary" }],
      },
    ],
    backup: { repo: "local", schedule: "0 3 * * *" },
  },
};

const definition = {
  apiVersion: "tessera.dev/v1alpha1",
  kind: "ComponentDefinition",
  metadata: { name: "postgresql-15" },
  spec: { volumes: [{ name: "data" }], replicasLimit: { minReplicas: 1, maxReplicas: 5 } },
} as unknown as ComponentDefinition;

test("--to-time takes what Date parses and writes RFC 3339 in UTC; anything else is a usage error", () => {
  assert.equal(parsePointInTime("2026-03-04T05:06:07Z"), "2026-03-04T05:06:07Z");
  assert.equal(parsePointInTime("2026-03-04T07:06:07.250+02:00"), "2026-03-04T05:06:07.250Z");
  assert.equal(parsePointInTime("2026-03-04"), "2026-03-04T00:00:00Z");
  for (const bad of ["yesterday", "", "2026-13-45T00:00:00Z"]) {
    assert.throws(
      () => parsePointInTime(bad),
      (error: unknown) =>
        error instanceof UsageError && error.message.startsWith(`--to-time ${bad}: not a time`),
    );
  }
});

test("a restore of a cluster that still exists copies its shape, at the version the backup was taken", () => {
  const { cluster, summary } = restoredCluster({
    name: "pg-copy",
    namespace: "prod",
    backup,
    source,
    pointInTime: "2026-03-04T05:06:07Z",
  });
  assert.deepEqual(cluster.metadata, { name: "pg-copy", namespace: "prod" });
  const { componentSpecs, ...rest } = cluster.spec;
  assert.deepEqual(rest, {
    clusterDef: "postgresql",
    topology: "replication",
    terminationPolicy: "Delete",
    restore: { backup: "pg-1", pointInTime: "2026-03-04T05:06:07Z" },
  });
  const original = source.spec.componentSpecs[0]!;
  assert.deepEqual(componentSpecs, [
    {
      name: "postgresql",
      serviceVersion: "15.4",
      replicas: 3,
      resources: original.resources,
      volumeClaimTemplates: original.volumeClaimTemplates,
      parameters: { work_mem: "64MB" },
    },
  ]);
  assert.equal(summary, "shaped like cluster pg (postgresql/replication): postgresql 15.4 × 3");
  const fewer = restoredCluster({ name: "pg-copy", namespace: "prod", backup, source, replicas: 1 });
  assert.equal(fewer.cluster.spec.componentSpecs[0]!.replicas, 1);
  assert.deepEqual(fewer.cluster.spec.restore, { backup: "pg-1" });
  assert.equal(source.spec.componentSpecs[0]!.serviceVersion, "15.6", "the source is left as it was");
});

test("without the source cluster, the backed-up component alone from its definition, volumes sized from the data", () => {
  const { cluster, summary } = restoredCluster({ name: "pg-copy", namespace: "prod", backup, definition });
  assert.deepEqual(cluster.spec, {
    terminationPolicy: "Delete",
    componentSpecs: [
      {
        name: "postgresql",
        componentDef: "postgresql-15",
        serviceVersion: "15.4",
        replicas: 1,
        volumeClaimTemplates: [
          {
            name: "data",
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "6Gi" } } },
          },
        ],
      },
    ],
    restore: { backup: "pg-1" },
  });
  assert.equal(
    summary,
    "cluster pg is gone, so from the backup: postgresql (postgresql-15 15.4) × 1, 6Gi volumes",
  );
  assert.equal(defaultVolumeSize(undefined), "1Gi");
  assert.equal(defaultVolumeSize(100 * 1024 ** 2), "1Gi");
  assert.equal(defaultVolumeSize(1024 ** 3 + 1), "3Gi");
  assert.throws(
    () => restoredCluster({ name: "pg-copy", namespace: "prod", backup }),
    /cluster pg is gone and the ComponentDefinition postgresql-15 is not installed/,
  );
});
