import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../../src/logger.js";

function capture(level = "debug") {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger("test", level, {
    write: (chunk: string) => {
      for (const line of chunk.split("\n").filter(Boolean)) lines.push(JSON.parse(line));
    },
  });
  return { logger, lines };
}

test("log lines carry an ISO 8601 timestamp and the level by name", () => {
  const { logger, lines } = capture();
  const before = Date.now();
  logger.info({ key: "value" }, "hello");
  logger.warn("careful");
  logger.debug("detail");
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg]),
    [
      ["info", "hello"],
      ["warn", "careful"],
      ["debug", "detail"],
    ],
  );
  const time = lines[0]!.time as string;
  assert.match(time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.ok(Date.parse(time) >= before - 1000, `${time} is the time of the call`);
  assert.equal(lines[0]!.name, "test");
  assert.equal(lines[0]!.key, "value");
});

test("the level threshold still applies and credentials stay redacted", () => {
  const { logger, lines } = capture("info");
  logger.debug("hidden");
  logger.info({ password: "s3cret", env: { TOKEN: "t" } }, "account");
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.password, "[redacted]");
  assert.deepEqual(lines[0]!.env, { TOKEN: "[redacted]" });
  assert.doesNotMatch(JSON.stringify(lines), /s3cret/);
});
