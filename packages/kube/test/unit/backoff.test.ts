import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff } from "../../src/backoff.js";

test("backoff doubles from the base up to the cap, with bounded jitter", () => {
  const backoff = new Backoff({ baseMs: 10, maxMs: 100, jitter: 0 });
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => backoff.next()),
    [10, 20, 40, 80, 100],
  );
  backoff.reset();
  assert.equal(backoff.next(), 10);
  const jittered = new Backoff({ baseMs: 100, maxMs: 100, jitter: 0.5 });
  for (let i = 0; i < 50; i++) {
    const value = jittered.next();
    assert.ok(value >= 100 && value <= 150, `${value} outside [100, 150]`);
  }
});
