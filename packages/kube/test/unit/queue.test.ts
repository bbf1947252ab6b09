import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkQueue } from "../../src/queue.js";
import { waitFor } from "../../src/wait.js";

test("a key added many times while queued is handed out once", async () => {
  const queue = new WorkQueue();
  for (let i = 0; i < 5; i++) queue.add("a");
  queue.add("b");
  assert.equal(queue.depth, 2);
  assert.equal(await queue.get(), "a");
  assert.equal(await queue.get(), "b");
  queue.shutDown();
  assert.equal(await queue.get(), undefined);
});

test("a key is never processed by two workers at once; a re-add during processing runs after done", async () => {
  const queue = new WorkQueue();
  queue.add("k");
  const first = await queue.get();
  queue.add("k");
  assert.equal(queue.depth, 0, "the key must wait until the running reconcile is done");
  let second: string | undefined;
  const waiting = queue.get().then((k) => (second = k));
  await new Promise((r) => setImmediate(r));
  assert.equal(second, undefined);
  queue.done(first!);
  await waiting;
  assert.equal(second, "k");
  queue.shutDown();
});

test("failures back off exponentially per key and forget resets them", () => {
  const queue = new WorkQueue({ baseRetryMs: 100, maxRetryMs: 1000 });
  const delays = [1, 2, 3, 4, 5].map(() => queue.addRateLimited("x"));
  for (let i = 1; i < 4; i++) assert.ok(delays[i]! > delays[i - 1]!, `delays must grow: ${delays.join(",")}`);
  assert.ok(delays[4]! <= 1000 * 1.2, "delays are capped");
  assert.equal(queue.failures("x"), 5);
  assert.equal(queue.failures("y"), 0, "back-off is per key");
  queue.forget("x");
  assert.equal(queue.failures("x"), 0);
  queue.shutDown();
});

test("addAfter delivers the key later, and the earliest pending delay wins", async () => {
  const queue = new WorkQueue();
  queue.addAfter("late", 60_000);
  queue.addAfter("late", 20);
  assert.equal(queue.depth, 0);
  await waitFor(() => queue.depth === 1, { description: "the delayed key", timeoutMs: 5000, intervalMs: 5 });
  assert.equal(await queue.get(), "late");
  queue.shutDown();
});
