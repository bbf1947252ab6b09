import { test } from "node:test";
import assert from "node:assert/strict";
import { decide, type DecideInput, type ProbeReport } from "../../src/ha/decide.js";

const roles = [
  { name: "primary", updatePriority: 2, writable: true },
  { name: "secondary", updatePriority: 1 },
];

const report = (
  pod: string,
  role?: string,
  position?: number,
  extra: Partial<ProbeReport> = {},
): ProbeReport => ({
  pod,
  ordinal: Number(pod.split("-").pop()),
  ready: true,
  ok: role !== undefined,
  ...(role ? { role } : { error: "probe failed" }),
  ...(position !== undefined ? { position } : {}),
  ...extra,
});

const input = (over: Partial<DecideInput>): DecideInput => ({
  mode: "operator",
  roles,
  ha: { primary: "pg-0", epoch: 1 },
  reports: [],
  primaryFailures: 0,
  podFailures: new Map(),
  failureThreshold: 3,
  switchoverInProgress: false,
  ...over,
});

test("the first instance reporting the writable role is recognised as primary with epoch 1", () => {
  const d = decide(
    input({ ha: { epoch: 0 }, reports: [report("pg-0", "primary", 5), report("pg-1", "secondary", 5)] }),
  );
  assert.deepEqual(d.ha, { primary: "pg-0", epoch: 1 });
  assert.equal(d.labels.get("pg-0"), "primary");
  assert.equal(d.labels.get("pg-1"), "secondary");
});

test("a healthy primary keeps its role and resets the failure count", () => {
  const d = decide(
    input({ primaryFailures: 2, reports: [report("pg-0", "primary"), report("pg-1", "secondary")] }),
  );
  assert.equal(d.ha, undefined);
  assert.equal(d.primaryFailures, 0);
  assert.equal(d.promote, undefined);
});

test("primary loss below the threshold waits; at the threshold the most advanced replica is promoted", () => {
  const reports = [report("pg-0"), report("pg-1", "secondary", 100), report("pg-2", "secondary", 250)];
  const waiting = decide(input({ primaryFailures: 1, reports }));
  assert.equal(waiting.promote, undefined);
  assert.equal(waiting.primaryFailures, 2);
  assert.equal(waiting.labels.has("pg-0"), false, "the primary keeps its label until failover");
  const failover = decide(input({ primaryFailures: 2, reports }));
  assert.equal(failover.promote, "pg-2");
  assert.equal(failover.ha?.primary, "pg-2");
  assert.equal(failover.ha?.epoch, 2);
  assert.equal(failover.ha?.promotePending, true);
  assert.equal(failover.labels.get("pg-0"), undefined, "the old primary is fenced from services");
  assert.ok(failover.labels.has("pg-0"));
  assert.equal(failover.events[0]?.reason, "Failover");
});

test("a round in which no instance answers does not count against the primary", () => {
  const silent = [report("pg-0"), report("pg-1"), report("pg-2")];
  const d = decide(input({ primaryFailures: 2, reports: silent }));
  assert.equal(d.primaryFailures, 2, "held: the operator cannot tell a lost primary from its own starvation");
  assert.equal(d.promote, undefined);
  assert.equal(d.fence, undefined);
  const next = decide(
    input({ primaryFailures: d.primaryFailures, reports: [report("pg-0"), report("pg-1", "secondary", 7)] }),
  );
  assert.equal(next.promote, "pg-1", "once a replica answers, the primary's silence counts again");
});

test("a restarted primary that serves again is fenced first, and a replica promoted in the next round", () => {
  const d = decide(
    input({ reports: [report("pg-0", "primary", 9, { restarted: true }), report("pg-1", "secondary", 9)] }),
  );
  assert.equal(d.fence, "pg-0");
  assert.equal(d.promote, undefined, "no promotion while the old primary may still acknowledge writes");
  assert.equal(d.labels.get("pg-0"), undefined);
  assert.ok(d.labels.has("pg-0"));
  const next = decide(
    input({ primaryFailures: d.primaryFailures, reports: [report("pg-0"), report("pg-1", "secondary", 12)] }),
  );
  assert.equal(next.promote, "pg-1");
});

test("no failover without a healthy ready replica; the reason is reported", () => {
  const d = decide(
    input({
      primaryFailures: 5,
      reports: [report("pg-0"), report("pg-1", "secondary", 1, { ready: false })],
    }),
  );
  assert.equal(d.promote, undefined);
  assert.match(d.blocked ?? "", /no healthy replica/);
});

test("no failover while a switchover is in progress", () => {
  const d = decide(
    input({
      primaryFailures: 5,
      switchoverInProgress: true,
      reports: [report("pg-0", "secondary"), report("pg-1", "secondary")],
    }),
  );
  assert.equal(d.promote, undefined);
  assert.equal(d.ha, undefined);
});

test("an engine-driven switchover is adopted with a new epoch", () => {
  const d = decide(input({ reports: [report("pg-0", "secondary"), report("pg-1", "primary")] }));
  assert.deepEqual(d.ha, { primary: "pg-1", epoch: 2 });
  assert.equal(d.labels.get("pg-1"), "primary");
  assert.deepEqual(d.demote, []);
});

test("a stale primary is demoted and kept out of the writable service", () => {
  const d = decide(
    input({
      ha: { primary: "pg-1", epoch: 3 },
      reports: [report("pg-0", "primary"), report("pg-1", "primary")],
    }),
  );
  assert.deepEqual(d.demote, ["pg-0"]);
  assert.equal(d.labels.get("pg-0"), undefined);
  assert.equal(d.labels.get("pg-1"), "primary");
});

test("a pending promote is retried until the candidate reports the writable role", () => {
  const d = decide(
    input({
      ha: { primary: "pg-1", epoch: 2, promotePending: true },
      reports: [report("pg-1", "secondary")],
    }),
  );
  assert.equal(d.promote, "pg-1");
  const done = decide(
    input({ ha: { primary: "pg-1", epoch: 2, promotePending: true }, reports: [report("pg-1", "primary")] }),
  );
  assert.deepEqual(done.ha, { primary: "pg-1", epoch: 2, promotePending: false });
});

test("native mode mirrors the engine's roles and never promotes", () => {
  const d = decide(
    input({
      mode: "native",
      roles: [
        { name: "leader", updatePriority: 2, writable: true },
        { name: "follower", updatePriority: 1 },
      ],
      ha: { primary: "e-0", epoch: 1 },
      reports: [report("e-0", "follower"), report("e-1", "leader"), report("e-2")],
      podFailures: new Map([["e-2", 3]]),
    }),
  );
  assert.equal(d.promote, undefined);
  assert.deepEqual(d.ha, { primary: "e-1", epoch: 2 });
  assert.equal(d.labels.get("e-1"), "leader");
  assert.equal(d.labels.get("e-2"), undefined);
  assert.ok(d.labels.has("e-2"));
});

test("during a switchover the promoted candidate is adopted even while the old primary is down", () => {
  const reports = [report("pg-0"), report("pg-1", "primary", 10), report("pg-2", "secondary", 10)];
  const d = decide(
    input({ primaryFailures: 5, switchoverInProgress: true, switchoverCandidate: "pg-1", reports }),
  );
  assert.deepEqual(d.ha, { primary: "pg-1", epoch: 2 });
  assert.equal(d.promote, undefined);
  assert.deepEqual(d.demote, []);
  assert.equal(d.labels.get("pg-1"), "primary");
});

test("outside a switchover, an unrecorded instance claiming the writable role while the primary is down is demoted, not followed", () => {
  const reports = [report("pg-0"), report("pg-1", "primary", 10), report("pg-2", "secondary", 20)];
  const d = decide(input({ primaryFailures: 5, reports }));
  assert.equal(d.promote, "pg-2");
  assert.ok(d.demote.includes("pg-1"));
});

test("a non-primary instance loses a writable label at once, without waiting for its probe to fail repeatedly", () => {
  const d = decide(
    input({
      ha: { primary: "pg-1", epoch: 2 },
      reports: [report("pg-0"), report("pg-1", "primary")],
      currentLabels: new Map([
        ["pg-0", "primary"],
        ["pg-1", "primary"],
      ]),
    }),
  );
  assert.ok(d.labels.has("pg-0"));
  assert.equal(d.labels.get("pg-0"), undefined);
});

test("failover waits for a silent instance that was more advanced than every candidate", () => {
  const reports = [report("pg-0"), report("pg-1", "secondary", 100), report("pg-2")];
  const d = decide(
    input({
      primaryFailures: 5,
      reports,
      knownPositions: new Map([
        ["pg-2", 500],
        ["pg-1", 100],
      ]),
    }),
  );
  assert.equal(d.promote, undefined);
  assert.match(d.blocked ?? "", /waiting for pg-2, last at position 500, ahead of pg-1/);
  const later = decide(input({ primaryFailures: 5, reports, knownPositions: new Map([["pg-1", 100]]) }));
  assert.equal(later.promote, "pg-1");
});

test("with a detach action, failover first detaches every answering replica and promotes nobody", () => {
  const reports = [report("pg-0"), report("pg-1", "secondary", 100), report("pg-2", "secondary", 250)];
  const d = decide(input({ primaryFailures: 2, reports, canDetach: true }));
  assert.equal(d.promote, undefined);
  assert.deepEqual(d.detach.sort(), ["pg-1", "pg-2"]);
  assert.equal(
    d.ha?.primary,
    "pg-0",
    "the recorded primary does not change before the replicas are detached",
  );
  assert.equal(d.ha?.fencing?.from, "pg-0");
  assert.equal(d.labels.get("pg-0"), undefined);
  assert.ok(d.labels.has("pg-0"), "the lost primary's writable label is removed");
  assert.ok(d.events.some((e) => e.reason === "Fencing"));
});

test("once the replicas are detached, the most advanced by its report after the detach is promoted", () => {
  const fencing = { from: "pg-0", since: "2026-01-01T00:00:00Z", reason: "is gone" };
  // pg-1 received more WAL between the first probe and its detach: the fresh report decides.
  const reports = [report("pg-0"), report("pg-1", "secondary", 300), report("pg-2", "secondary", 250)];
  const d = decide(
    input({
      ha: { primary: "pg-0", epoch: 1, fencing },
      reports,
      canDetach: true,
      detached: new Set(["pg-1", "pg-2"]),
    }),
  );
  assert.equal(d.promote, "pg-1");
  assert.deepEqual(d.detach, []);
  assert.equal(d.ha?.primary, "pg-1");
  assert.equal(d.ha?.epoch, 2);
  assert.equal(d.ha?.fencing, undefined);
  assert.equal(d.ha?.lastFailover?.reason, "is gone");
});

test("a fenced primary that answers again as writable never gets its role back and is stopped", () => {
  const fencing = { from: "pg-0", since: "2026-01-01T00:00:00Z", reason: "is gone" };
  const reports = [
    report("pg-0", "primary", 400),
    report("pg-1", "secondary", 300),
    report("pg-2", "secondary", 250),
  ];
  const d = decide(input({ ha: { primary: "pg-0", epoch: 1, fencing }, reports, canDetach: true }));
  assert.equal(d.fence, "pg-0");
  assert.equal(d.labels.get("pg-0"), undefined);
  assert.deepEqual(
    d.detach.sort(),
    ["pg-1", "pg-2"],
    "replicas not detached in this round are detached first",
  );
  assert.equal(d.promote, undefined);
});

test("a replica that did not answer during fencing is not waited for unless it was ahead", () => {
  const fencing = { from: "pg-0", since: "2026-01-01T00:00:00Z", reason: "is gone" };
  const reports = [report("pg-0"), report("pg-1", "secondary", 300), report("pg-2")];
  const behind = decide(
    input({
      ha: { primary: "pg-0", epoch: 1, fencing },
      reports,
      canDetach: true,
      detached: new Set(["pg-1"]),
      knownPositions: new Map([["pg-2", 200]]),
    }),
  );
  assert.equal(behind.promote, "pg-1");
  const ahead = decide(
    input({
      ha: { primary: "pg-0", epoch: 1, fencing },
      reports,
      canDetach: true,
      detached: new Set(["pg-1"]),
      knownPositions: new Map([["pg-2", 500]]),
    }),
  );
  assert.equal(ahead.promote, undefined);
  assert.match(ahead.blocked ?? "", /waiting for pg-2/);
});

test("replicas follow the recorded primary once it serves, each once per epoch", () => {
  const reports = [report("pg-0"), report("pg-1", "primary", 300), report("pg-2", "secondary", 250)];
  const promoting = [report("pg-0"), report("pg-1", "secondary", 300), report("pg-2", "secondary", 250)];
  const pending = decide(
    input({ ha: { primary: "pg-1", epoch: 2, promotePending: true }, reports: promoting, canFollow: true }),
  );
  assert.deepEqual(pending.follow, [], "not before the new primary reports the writable role");
  const served = decide(
    input({
      ha: { primary: "pg-1", epoch: 2 },
      reports,
      canFollow: true,
      followedEpochs: new Map([["pg-2", 1]]),
    }),
  );
  assert.deepEqual(served.follow, ["pg-2"]);
  const done = decide(
    input({
      ha: { primary: "pg-1", epoch: 2 },
      reports,
      canFollow: true,
      followedEpochs: new Map([["pg-2", 2]]),
    }),
  );
  assert.deepEqual(done.follow, []);
  const fresh = decide(input({ ha: { primary: "pg-1", epoch: 2 }, reports, canFollow: true }));
  assert.deepEqual(
    fresh.follow,
    [],
    "a replica that never followed by name streams from the primary already",
  );
  assert.deepEqual(fresh.adopt, ["pg-2"]);
  const detached = decide(
    input({
      ha: { primary: "pg-1", epoch: 2 },
      reports,
      canFollow: true,
      followedEpochs: new Map([["pg-2", NaN]]),
    }),
  );
  assert.deepEqual(detached.follow, ["pg-2"], "a detached replica is told whom to follow");
});

test("a primary whose pod is missing is counted like a failed round, then failed over", () => {
  const reports = [report("pg-1", "secondary", 100), report("pg-2", "secondary", 250)];
  const first = decide(input({ reports, canDetach: true }));
  assert.equal(first.primaryFailures, 1);
  assert.deepEqual(first.detach, []);
  const second = decide(input({ reports, canDetach: true, primaryFailures: 2 }));
  assert.deepEqual(second.detach.sort(), ["pg-1", "pg-2"]);
  assert.match(second.ha?.fencing?.reason ?? "", /has no pod/);
});

test("a primary whose running pod was deleted is failed over from at once", () => {
  const reports = [report("pg-1", "secondary", 100), report("pg-2", "secondary", 250)];
  const d = decide(input({ reports, canDetach: true, primaryDeleted: true }));
  assert.deepEqual(d.detach.sort(), ["pg-1", "pg-2"]);
  assert.match(d.ha?.fencing?.reason ?? "", /lost its pod \(deleted\)/);
});

test("with no replica able to take over, a primary is not fenced, and a fenced one that serves again keeps its role", () => {
  const starting = [report("pg-0"), report("pg-1"), report("pg-2")];
  const blocked = decide(input({ primaryFailures: 3, reports: starting, canDetach: true }));
  assert.equal(blocked.ha?.fencing, undefined);
  assert.equal(blocked.fence, undefined, "nobody stops a primary nobody can replace");
  assert.deepEqual(blocked.detach, []);
  assert.match(blocked.blocked ?? "", /no healthy replica/);

  const fencing = { from: "pg-0", since: "2026-01-01T00:00:00Z", reason: "is gone" };
  const back = [report("pg-0", "primary", 400), report("pg-1"), report("pg-2")];
  const lifted = decide(
    input({ ha: { primary: "pg-0", epoch: 4, fencing }, reports: back, canDetach: true }),
  );
  assert.deepEqual(lifted.ha, { primary: "pg-0", epoch: 5 });
  assert.equal(lifted.labels.get("pg-0"), "primary");
  assert.ok(lifted.events.some((e) => e.reason === "FencingLifted"));
});

test("a primary whose pod is gone after handing over to a claimant is followed, not failed over", () => {
  const reports = [report("pg-1", "primary", 300), report("pg-2", "secondary", 250)];
  const d = decide(input({ reports, canDetach: true }));
  assert.deepEqual(d.ha, { primary: "pg-1", epoch: 2 });
  assert.deepEqual(d.detach, []);
  assert.equal(d.promote, undefined);
});

test("after a failover, the deposed primary still claiming the role is demoted, never followed, whatever the new primary's stale report says", () => {
  const ha = {
    primary: "pg-2",
    epoch: 5,
    lastFailover: { from: "pg-0", to: "pg-2", at: "2026-01-01T00:00:00Z", reason: "no answer" },
  };
  const reports = [
    report("pg-0", "primary", 100),
    report("pg-1", "secondary", 90),
    report("pg-2", "secondary", 120),
  ];
  const d = decide(input({ ha, reports, canDetach: true, canFollow: true }));
  assert.notEqual(d.ha?.primary, "pg-0");
  assert.deepEqual(d.demote, ["pg-0"]);
  assert.equal(d.labels.get("pg-0"), undefined);
});

test("a primary silent for a whole probe timeout spanning several periods counts each of them", () => {
  const silentFor = (rounds: number) => ({ ...report("pg-0"), missedRounds: rounds });
  const replicas = [report("pg-1", "secondary", 100), report("pg-2", "secondary", 250)];
  const first = decide(
    input({ failureThreshold: 2, primaryFailures: 0, reports: [silentFor(2), ...replicas] }),
  );
  assert.equal(first.promote, "pg-2", "one silent timeout of two periods reaches a threshold of two");
  const once = decide(
    input({ failureThreshold: 2, primaryFailures: 0, reports: [silentFor(1), ...replicas] }),
  );
  assert.equal(once.primaryFailures, 1);
  assert.equal(once.promote, undefined);
});
