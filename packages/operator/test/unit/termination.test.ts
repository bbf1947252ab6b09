import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { annotations, type Cluster, type TerminationPolicy } from "@tessera/api";
import { isLeftover, recordPatch } from "../../src/cluster/volumes.js";

const cluster = (policy: TerminationPolicy, uid = "uid-1"): Pick<Cluster, "metadata" | "spec"> => ({
  metadata: { name: "db", uid },
  spec: { terminationPolicy: policy, componentSpecs: [{ name: "db", replicas: 1 }] },
});

const claim = (record?: { uid: string; policy: TerminationPolicy }): V1PersistentVolumeClaim => ({
  metadata: {
    name: "data-db-0",
    annotations: record
      ? { [annotations.clusterUID]: record.uid, [annotations.terminationPolicy]: record.policy }
      : {},
  },
});

test("a claim records its cluster's UID and policy; only under WipeOut is it owned by the cluster", () => {
  const deletePatch = recordPatch(claim(), cluster("Delete"));
  assert.deepEqual(deletePatch?.metadata.annotations, {
    [annotations.clusterUID]: "uid-1",
    [annotations.terminationPolicy]: "Delete",
  });
  assert.deepEqual(deletePatch?.metadata.ownerReferences, []);
  const wipePatch = recordPatch(claim(), cluster("WipeOut"));
  assert.deepEqual(wipePatch?.metadata.ownerReferences, [
    { apiVersion: "tessera.dev/v1alpha1", kind: "Cluster", name: "db", uid: "uid-1" },
  ]);
});

test("a claim that records its cluster as it is needs no patch; a policy change needs one", () => {
  const owned = claim({ uid: "uid-1", policy: "WipeOut" });
  owned.metadata!.ownerReferences = recordPatch(claim(), cluster("WipeOut"))!.metadata.ownerReferences;
  assert.equal(recordPatch(owned, cluster("WipeOut")), undefined);
  const toDelete = recordPatch(owned, cluster("Delete"));
  assert.deepEqual(toDelete?.metadata.ownerReferences, [], "leaving WipeOut drops the owner reference");
  assert.equal(recordPatch(claim({ uid: "uid-1", policy: "Delete" }), cluster("Delete")), undefined);
  assert.ok(recordPatch(claim({ uid: "uid-1", policy: "Delete" }), cluster("DoNotTerminate")));
});

test("a claim is a leftover only when its recorded cluster is gone and its recorded policy let the volumes go", () => {
  assert.equal(isLeftover(claim({ uid: "uid-1", policy: "Delete" }), undefined), true);
  assert.equal(isLeftover(claim({ uid: "uid-1", policy: "WipeOut" }), undefined), true);
  assert.equal(
    isLeftover(claim({ uid: "uid-1", policy: "Delete" }), "uid-2"),
    true,
    "a later cluster of the same name does not adopt the data of a deleted one",
  );
  assert.equal(isLeftover(claim({ uid: "uid-1", policy: "Delete" }), "uid-1"), false, "its cluster lives");
  assert.equal(isLeftover(claim({ uid: "uid-1", policy: "DoNotTerminate" }), undefined), false);
  assert.equal(isLeftover(claim(), undefined), false, "a claim that records nothing is never deleted");
});
