import { test } from "node:test";
import assert from "node:assert/strict";
import { compareVersions } from "@tessera/api";
import { orderStages, resolveCluster } from "../../src/definitions.js";
import { catalog } from "../fixtures/definitions.js";

test("versions compare numerically", () => {
  assert.ok(compareVersions("15.10", "15.9") > 0);
  assert.ok(compareVersions("7.0.15", "7.0.2") > 0);
  assert.equal(compareVersions("1.0", "1.0"), 0);
});

test("a topology resolves prefixes to the newest definition and defaults to the newest release", () => {
  const resolved = resolveCluster(catalog(), {
    spec: {
      clusterDef: "kv",
      terminationPolicy: "Delete",
      componentSpecs: [
        { name: "kv", replicas: 3 },
        { name: "watcher", replicas: 1 },
      ],
    },
  });
  assert.equal(resolved.topology?.name, "replication");
  const kv = resolved.components.find((c) => c.name === "kv")!;
  assert.equal(kv.compDef.metadata.name, "kv-1.1");
  assert.equal(kv.release.serviceVersion, "1.10.0");
});

test("resolution errors name the field and the allowed values", () => {
  const c = catalog();
  const spec = (over: object) => ({
    spec: { terminationPolicy: "Delete" as const, componentSpecs: [{ name: "kv", replicas: 1 }], ...over },
  });
  assert.throws(
    () => resolveCluster(c, spec({ clusterDef: "nope" })),
    /spec\.clusterDef: ClusterDefinition "nope" not found; installed: "kv"/,
  );
  assert.throws(
    () => resolveCluster(c, spec({ clusterDef: "kv", topology: "ring" })),
    /spec\.topology: "ring" is not a topology .* allowed: "standalone", "replication"/,
  );
  assert.throws(
    () =>
      resolveCluster(
        c,
        spec({
          clusterDef: "kv",
          topology: "standalone",
          componentSpecs: [{ name: "kv", replicas: 1, serviceVersion: "2.0" }],
        }),
      ),
    /spec\.componentSpecs\[0\]\.serviceVersion: "2\.0" is not offered .* offered: "1\.10\.0", "1\.9\.0"/,
  );
  assert.throws(
    () =>
      resolveCluster(
        c,
        spec({ clusterDef: "kv", topology: "standalone", componentSpecs: [{ name: "db", replicas: 1 }] }),
      ),
    /spec\.componentSpecs\[0\]\.name: "db" is not a component of topology "standalone"; allowed: "kv"/,
  );
  assert.throws(() => resolveCluster(c, spec({})), /componentDef: required when spec\.clusterDef is not set/);
});

test("orders become stages; comma-separated names share a stage; unmentioned components go last", () => {
  assert.deepEqual(orderStages(["a", "b,c"], ["a", "b", "c", "d"]), [["a"], ["b", "c"], ["d"]]);
  assert.deepEqual(orderStages(undefined, ["a", "b"]), [["a", "b"]]);
});
