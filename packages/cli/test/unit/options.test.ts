import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "commander";
import { parseCount, parseDuration } from "../../src/options.js";

test("durations: plain seconds, s, m, h and combinations", () => {
  assert.equal(parseDuration("45"), 45_000);
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("10m"), 600_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  for (const bad of ["", "ten", "5d", "-1m", "1.5m"])
    assert.throws(() => parseDuration(bad), InvalidArgumentError);
});

test("counts are whole numbers", () => {
  assert.equal(parseCount("0"), 0);
  assert.equal(parseCount("16"), 16);
  for (const bad of ["-1", "1.5", "three", ""]) assert.throws(() => parseCount(bad), InvalidArgumentError);
});
