import { test } from "node:test";
import assert from "node:assert/strict";
import { age, duration, table, withoutManagedFields } from "../../src/output.js";
import { Style } from "../../src/style.js";

test("ages and durations read like kubectl's", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  assert.equal(age("2026-01-01T11:59:15Z", now), "45s");
  assert.equal(age("2026-01-01T11:48:00Z", now), "12m");
  assert.equal(age("2026-01-01T09:00:00Z", now), "3h");
  assert.equal(age("2025-12-27T12:00:00Z", now), "5d");
  assert.equal(age(undefined, now), "-");
  assert.equal(duration(2_340), "2.3s");
  assert.equal(duration(125_000), "2m05s");
});

test("tables are borderless and aligned; colour only when enabled", () => {
  const plain = table(
    new Style(false),
    ["name", "status"],
    [
      ["demo", "Running"],
      ["a-longer-name", "Creating"],
    ],
  );
  assert.equal(
    plain,
    ["NAME            STATUS", "demo            Running", "a-longer-name   Creating"].join("\n"),
  );
  assert.ok(table(new Style(true), ["name"], [["demo"]]).includes("\u001b[1mNAME"));
  assert.equal(new Style(false).red("x"), "x");
});

test("machine-readable objects leave out managedFields", () => {
  const object = { kind: "Cluster", metadata: { name: "demo", managedFields: [{ manager: "x" }] } };
  assert.deepEqual(withoutManagedFields(object), { kind: "Cluster", metadata: { name: "demo" } });
});
