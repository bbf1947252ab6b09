import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ChaosCluster } from "./cluster.js";
import { faultNamed } from "./faults.js";
import type { ChaosDescriptor } from "./harness.js";
import { formatRound } from "./metrics.js";

/**
 * One round per named fault on one cluster of the engine, each under a
 * writer and a split-brain watcher. Asserted: the cluster converges, no two
 * instances acknowledge writes at once, no write is acknowledged by an
 * instance that another one had superseded and, where the engine promises
 * it, no acknowledged write is lost. Write gaps are measured and printed,
 * never asserted.
 */
export function chaos(descriptor: ChaosDescriptor, faults: string[]): void {
  const engine = descriptor.engine;
  let run: ChaosCluster;

  before(async () => {
    run = await ChaosCluster.start(descriptor);
  });

  after(async () => {
    await run?.stop();
  });

  for (const fault of faults.map(faultNamed)) {
    const who = fault.target === "writable" ? `the ${engine.writableRole}` : "a replica";
    test(`${fault.name}: ${who} — ${fault.description}`, async () => {
      const result = await run.round(fault);
      console.log(formatRound(result));
      assert.equal(result.error, undefined, "the cluster converges and takes writes again");
      if (engine.guarantees.failoverKeepsAcknowledgedWrites)
        assert.deepEqual(result.lost, [], "acknowledged writes missing on the primary after convergence");
      assert.equal(
        result.splitBrainSamples,
        0,
        `samples in which more than one instance acknowledged a write:\n${result.incidents.join("\n")}`,
      );
      assert.equal(
        result.staleAcks,
        0,
        `writes acknowledged by a superseded ${engine.writableRole}:\n${result.incidents.join("\n")}`,
      );
    });
  }
}
