import { test } from "node:test";
import assert from "node:assert/strict";
import { UsageError } from "../../src/errors.js";
import { exposedName, parseVolumes } from "../../src/ops/storage-network.js";

test("--volume pairs name a volume and its new size", () => {
  assert.deepEqual(parseVolumes(["data=20Gi", "log=2Gi"]), [
    { name: "data", storage: "20Gi" },
    { name: "log", storage: "2Gi" },
  ]);
  for (const bad of ["data", "=20Gi", "data=", "data=1=2"])
    assert.throws(() => parseVolumes([bad]), UsageError, bad);
});

test("an exposed service is named after its role unless named", () => {
  assert.equal(exposedName("primary"), "ext-primary");
  assert.equal(exposedName(undefined), "ext");
});
