import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RECENT_ANSWERS, recordAnswer, silenceAllowance } from "../../src/ha/answer-times.js";

const answered = (ms: number, count = RECENT_ANSWERS) => {
  const recent: number[] = [];
  for (let i = 0; i < count; i++) recordAnswer(recent, ms);
  return recent;
};

describe("silenceAllowance", () => {
  it("waits the probe's whole timeout until an instance has answered enough times", () => {
    assert.equal(silenceAllowance(answered(5, RECENT_ANSWERS - 1), 2000, 1000), 2000);
  });

  it("gives an instance that answers quickly one period, never less", () => {
    assert.equal(silenceAllowance(answered(5), 2000, 1000), 1000);
  });

  it("grows with the slowest recent answer, up to the timeout", () => {
    const recent = answered(5);
    recordAnswer(recent, 150);
    assert.equal(silenceAllowance(recent, 2000, 1000), 1200);
    recordAnswer(recent, 900);
    assert.equal(silenceAllowance(recent, 2000, 1000), 2000);
  });

  it("forgets a slow answer once enough quick ones followed it", () => {
    const recent = answered(5);
    recordAnswer(recent, 1500);
    for (let i = 0; i < RECENT_ANSWERS - 1; i++) recordAnswer(recent, 5);
    assert.equal(silenceAllowance(recent, 2000, 1000), 2000);
    recordAnswer(recent, 5);
    assert.equal(recent.length, RECENT_ANSWERS);
    assert.equal(silenceAllowance(recent, 2000, 1000), 1000);
  });
});
