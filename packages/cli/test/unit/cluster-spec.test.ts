import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { ClusterDefinition, ComponentDefinition, ComponentVersion } from "@tessera/api";
import { loadAddon } from "@tessera/addons";
import { AddonCatalog } from "../../src/addons.js";
import { planCluster } from "../../src/cluster-spec.js";
import { UsageError } from "../../src/errors.js";

const POSTGRESQL = fileURLToPath(new URL("../../../../addons/postgresql/", import.meta.url));

/** The PostgreSQL addon as installed, plus `extra` definitions. */
function catalog(extra: { compDefs?: ComponentDefinition[]; versions?: ComponentVersion[] } = {}) {
  const definitions = loadAddon(POSTGRESQL).definitions;
  const ofKind = <T>(kind: string) => definitions.filter((d) => d.kind === kind) as T[];
  return new AddonCatalog(
    ofKind<ClusterDefinition>("ClusterDefinition"),
    [...ofKind<ComponentDefinition>("ComponentDefinition"), ...(extra.compDefs ?? [])],
    [...ofKind<ComponentVersion>("ComponentVersion"), ...(extra.versions ?? [])],
  );
}

function usageError(fn: () => unknown, message: string) {
  assert.throws(fn, (error: unknown) => error instanceof UsageError && error.message === message);
}

test("defaults come from the definitions: default topology, minimum replicas, a claim per volume", () => {
  const { cluster, summary } = planCluster(catalog(), "postgresql", "pg", "ns", {});
  assert.deepEqual(cluster.metadata, { name: "pg", namespace: "ns" });
  assert.equal(cluster.spec.clusterDef, "postgresql");
  assert.equal(cluster.spec.topology, "replication");
  assert.equal(cluster.spec.terminationPolicy, "Delete");
  assert.deepEqual(cluster.spec.componentSpecs, [
    {
      name: "postgresql",
      replicas: 1,
      volumeClaimTemplates: [
        {
          name: "data",
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
    },
  ]);
  assert.equal(summary, "postgresql/replication: postgresql 15 × 1");
});

test("flags set topology, replicas, version, resources, storage and policy of the addon's component", () => {
  const { cluster } = planCluster(catalog(), "postgresql", "pg", "ns", {
    topology: "standalone",
    replicas: 3,
    version: "15",
    cpu: "500m",
    memory: "1Gi",
    storage: "10Gi",
    storageClass: "fast",
    terminationPolicy: "WipeOut",
  });
  assert.equal(cluster.spec.topology, "standalone");
  assert.equal(cluster.spec.terminationPolicy, "WipeOut");
  const [component] = cluster.spec.componentSpecs;
  assert.equal(component!.replicas, 3);
  assert.equal(component!.serviceVersion, "15");
  assert.equal(component!.componentDef, undefined, "the default definition offers 15");
  assert.deepEqual(component!.resources, {
    requests: { cpu: "500m", memory: "1Gi" },
    limits: { cpu: "500m", memory: "1Gi" },
  });
  assert.deepEqual(component!.volumeClaimTemplates![0]!.spec, {
    storageClassName: "fast",
    accessModes: ["ReadWriteOnce"],
    resources: { requests: { storage: "10Gi" } },
  });
});

test("a version offered only by an older definition selects that definition", () => {
  const base = catalog().componentDefinitions[0]!;
  const older = structuredClone(base);
  older.metadata = { name: "postgresql-14" };
  const version: ComponentVersion = {
    apiVersion: "tessera.dev/v1alpha1",
    kind: "ComponentVersion",
    metadata: { name: "postgresql-14" },
    spec: {
      compatibilityRules: [{ compDefs: ["postgresql-14"], releases: ["14"] }],
      releases: [{ name: "14", serviceVersion: "14", images: { postgresql: "postgres:14" } }],
    },
  };
  const addons = catalog({ compDefs: [older], versions: [version] });
  const { cluster, summary } = planCluster(addons, "postgresql", "pg", "ns", { version: "14" });
  assert.equal(cluster.spec.componentSpecs[0]!.componentDef, "postgresql-14");
  assert.equal(summary, "postgresql/replication: postgresql 14 × 1");
  usageError(
    () => planCluster(addons, "postgresql", "pg", "ns", { version: "13" }),
    '--version 13: postgresql offers "15", "14"',
  );
});

test("values the definitions do not allow are refused with the allowed ones", () => {
  const addons = catalog();
  const plan =
    (name: string, flags: Parameters<typeof planCluster>[4], engine = "postgresql") =>
    () =>
      planCluster(addons, engine, name, "ns", flags);
  usageError(
    plan("pg", {}, "mongodb"),
    'unknown engine "mongodb"; installed engines: "postgresql" (see `tessera addon list`)',
  );
  usageError(
    plan("pg", { topology: "ring" }),
    '--topology ring: not a topology of postgresql; choose one of "replication", "standalone"',
  );
  usageError(plan("pg", { replicas: 17 }), "--replicas 17: postgresql allows 1 to 16 replicas of postgresql");
  usageError(plan("pg", { replicas: 0 }), "--replicas 0: postgresql allows 1 to 16 replicas of postgresql");
  usageError(plan("pg", { version: "9.6" }), '--version 9.6: postgresql offers "15"');
  usageError(
    plan("pg", { memory: "lots" }),
    "--memory lots: not a Kubernetes quantity (e.g. 500m or 2 for CPU, 512Mi or 1Gi)",
  );
  usageError(
    plan("pg", { terminationPolicy: "Never" }),
    '--termination-policy Never: choose one of "DoNotTerminate", "Delete", "WipeOut"',
  );
  usageError(
    plan("Pg_1", {}),
    `cluster name "Pg_1" must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit`,
  );
});

test("--storage is refused for a component without volumes", () => {
  const addons = catalog();
  delete addons.componentDefinitions[0]!.spec.volumes;
  usageError(
    () => planCluster(addons, "postgresql", "pg", "ns", { storage: "1Gi" }),
    "--storage: postgresql of postgresql keeps no volumes",
  );
  assert.equal(
    planCluster(addons, "postgresql", "pg", "ns", {}).cluster.spec.componentSpecs[0]!.volumeClaimTemplates,
    undefined,
  );
});
