import { test } from "node:test";
import assert from "node:assert/strict";
import { API_VERSION } from "@tessera/api";
import { scaleRefusal, type OwnedLookup } from "../../src/webhook/scale.js";

const ownedBy = (kind: string, name: string, apiVersion = API_VERSION) => ({
  metadata: { ownerReferences: [{ apiVersion, kind, name, controller: true }] },
});

/** A namespace holding Cluster c1 → Component c1-db → InstanceSet c1-db, and a standalone pair. */
const objects: Record<string, Awaited<ReturnType<OwnedLookup>>> = {
  "Cluster/c1": { metadata: {} },
  "Component/c1-db": ownedBy("Cluster", "c1"),
  "InstanceSet/c1-db": ownedBy("Component", "c1-db"),
  "Component/solo": { metadata: {} },
  "InstanceSet/solo": ownedBy("Component", "solo"),
  "InstanceSet/raw": { metadata: {} },
  "InstanceSet/foreign": ownedBy("DatabaseFleet", "f1", "example.com/v1"),
};
const lookup: OwnedLookup = async (kind, name) => objects[`${kind}/${name}`];

test("a Component of a Cluster is scaled through the Cluster", async () => {
  assert.equal(
    await scaleRefusal("Component", "c1-db", lookup),
    "Component c1-db is managed by Cluster c1, which sets its replicas and would undo this scale; change spec.componentSpecs[].replicas of Cluster c1 instead",
  );
});

test("an InstanceSet names its direct owner and the Cluster at the top", async () => {
  assert.equal(
    await scaleRefusal("InstanceSet", "c1-db", lookup),
    "InstanceSet c1-db is managed by Component c1-db, which sets its replicas and would undo this scale; change spec.componentSpecs[].replicas of Cluster c1 instead",
  );
});

test("an InstanceSet of a standalone Component is scaled through that Component", async () => {
  assert.match((await scaleRefusal("InstanceSet", "solo", lookup))!, /; scale Component solo instead$/);
});

test("objects without an owner, or already gone, scale as asked", async () => {
  assert.equal(await scaleRefusal("Component", "solo", lookup), undefined);
  assert.equal(await scaleRefusal("InstanceSet", "raw", lookup), undefined);
  assert.equal(await scaleRefusal("InstanceSet", "missing", lookup), undefined);
});

test("a foreign owner is named, and not looked up", async () => {
  const asked: string[] = [];
  const message = await scaleRefusal("InstanceSet", "foreign", async (kind, name) => {
    asked.push(`${kind}/${name}`);
    return lookup(kind, name);
  });
  assert.match(message!, /managed by DatabaseFleet f1, .*; scale DatabaseFleet f1 instead$/);
  assert.deepEqual(asked, ["InstanceSet/foreign"]);
});
