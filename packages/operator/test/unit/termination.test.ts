import { test } from "node:test";
import assert from "node:assert/strict";
import type { Cluster, Component, TerminationPolicy } from "@tessera/api";
import { volumesGo } from "../../src/component/controller.js";

const component = (policy: TerminationPolicy): Pick<Component, "spec"> => ({
  spec: { compDef: "db-1", replicas: 1, terminationPolicy: policy },
});
const cluster = (policy: TerminationPolicy, deleting: boolean): Pick<Cluster, "metadata" | "spec"> => ({
  metadata: deleting ? { deletionTimestamp: "2024-01-01T00:00:00Z" } : {},
  spec: { terminationPolicy: policy, componentSpecs: [{ name: "db", replicas: 1 }] },
});

test("volumes go with a component only when its whole cluster is deleted under Delete or WipeOut", () => {
  assert.equal(volumesGo(component("Delete"), cluster("Delete", false)), false);
  assert.equal(volumesGo(component("Delete"), cluster("Delete", true)), true);
  assert.equal(volumesGo(component("WipeOut"), cluster("WipeOut", true)), true);
  assert.equal(volumesGo(component("Delete"), undefined), true);
  assert.equal(volumesGo(component("DoNotTerminate"), undefined), false);
});

test("the cluster's termination policy wins over a component's copy that has not caught up", () => {
  assert.equal(volumesGo(component("DoNotTerminate"), cluster("Delete", true)), true);
  assert.equal(volumesGo(component("Delete"), cluster("DoNotTerminate", true)), false);
});
