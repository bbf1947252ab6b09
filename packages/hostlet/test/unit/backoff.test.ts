import { test } from "node:test";
import assert from "node:assert/strict";
import { RestartBackoff } from "../../src/pods/restart-backoff.js";

test("CrashLoopBackOff: first restart immediate, then doubling to the cap, reset after a long run", () => {
  const backoff = new RestartBackoff({ baseMs: 10, maxMs: 50, resetAfterMs: 1000 });
  assert.deepEqual(
    [1, 2, 3, 4, 5].map(() => backoff.next(5)),
    [0, 10, 20, 40, 50],
  );
  assert.equal(backoff.next(5000), 0, "a container that ran long enough starts over");
  assert.equal(backoff.next(5), 10);
});
