import { test } from "node:test";
import assert from "node:assert/strict";
import { definitionsFor, matchesDefinition } from "../../src/definition-refs.js";

const defs = (...names: string[]) => names.map((name) => ({ metadata: { name } }));
const named = (list: { metadata: { name?: string } }[]) => list.map((d) => d.metadata.name);

test("a prefix matches versions only, newest first; an exact name picks that definition alone", () => {
  const all = defs("mydb-9", "mydb-exporter-1", "mydb-10", "mydb-1");
  assert.ok(matchesDefinition("mydb-16.1", "mydb-"));
  assert.ok(!matchesDefinition("mydb-exporter-1", "mydb-"));
  assert.deepEqual(named(definitionsFor(all, "mydb-")), ["mydb-10", "mydb-9", "mydb-1"]);
  // "mydb-1" is also a prefix of "mydb-10", but a definition of that very name wins.
  assert.deepEqual(named(definitionsFor(all, "mydb-1")), ["mydb-1"]);
  assert.deepEqual(named(definitionsFor(all, "other-")), []);
});
