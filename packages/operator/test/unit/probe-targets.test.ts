import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { labels } from "@tessera/api";
import { isStarting } from "../../src/ha/controller.js";

const pod = (name: string, ready: boolean, role?: string): V1Pod => ({
  metadata: { name, labels: role ? { [labels.role]: role } : {} },
  status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
});

test("only an instance that is not ready, has no role and is not the recorded primary is left unprobed", () => {
  assert.equal(isStarting(pod("db-1", false), "db-0"), true, "a replica still cloning");
  assert.equal(isStarting(pod("db-0", false), undefined), true, "the first instance still initialising");
  assert.equal(isStarting(pod("db-0", false), "db-0"), false, "the recorded primary is always probed");
  assert.equal(isStarting(pod("db-1", false, "secondary"), "db-0"), false, "a labelled instance that failed");
  assert.equal(isStarting(pod("db-1", true), "db-0"), false, "a ready instance waiting for its role");
});
