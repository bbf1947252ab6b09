import { test } from "node:test";
import assert from "node:assert/strict";
import {
  desiredInstances,
  leavingMembers,
  nextToRemove,
  nextUpdateStep,
  replacementHoldMs,
  FAILOVER_HOLD_MS,
  type ObservedInstance,
} from "../../src/instanceset/plan.js";

const roles = [
  { name: "primary", updatePriority: 2, writable: true },
  { name: "secondary", updatePriority: 1 },
];

test("instances get stable ordinal names; offline instances leave a gap instead of shifting names", () => {
  assert.deepEqual(
    desiredInstances("pg", { replicas: 3 }).map((i) => i.name),
    ["pg-0", "pg-1", "pg-2"],
  );
  assert.deepEqual(
    desiredInstances("pg", { replicas: 2, offlineInstances: ["pg-1"] }).map((i) => i.name),
    ["pg-0", "pg-2"],
  );
});

test("instance templates get their own names and share the replica count", () => {
  const instances = desiredInstances("pg", {
    replicas: 4,
    instances: [{ name: "big", replicas: 1 }],
  });
  assert.deepEqual(
    instances.map((i) => [i.name, i.template?.name]),
    [
      ["pg-0", undefined],
      ["pg-1", undefined],
      ["pg-2", undefined],
      ["pg-big-0", "big"],
    ],
  );
});

const inst = (
  name: string,
  role: string | undefined,
  revision = "old",
  ready = true,
  broken = false,
): ObservedInstance => ({
  name,
  ordinal: Number(name.split("-").pop()),
  role,
  ready,
  broken,
  revision,
  terminating: false,
});

test("a serial rolling update replaces secondaries first (highest ordinal first), then switches over the primary", () => {
  const base = { desiredRevision: () => "new", roles, strategy: "Serial" as const, canSwitchover: true };
  let instances = [inst("pg-0", "primary"), inst("pg-1", "secondary"), inst("pg-2", "secondary")];
  assert.deepEqual(nextUpdateStep({ ...base, instances }), { kind: "recreate", pods: ["pg-2"] });
  instances = [inst("pg-0", "primary"), inst("pg-1", "secondary"), inst("pg-2", "secondary", "new")];
  assert.deepEqual(nextUpdateStep({ ...base, instances }), { kind: "recreate", pods: ["pg-1"] });
  instances = [inst("pg-0", "primary"), inst("pg-1", "secondary", "new"), inst("pg-2", "secondary", "new")];
  assert.deepEqual(nextUpdateStep({ ...base, instances }), { kind: "switchover", pod: "pg-0" });
  instances = [inst("pg-0", "secondary"), inst("pg-1", "primary", "new"), inst("pg-2", "secondary", "new")];
  assert.deepEqual(nextUpdateStep({ ...base, instances }), { kind: "recreate", pods: ["pg-0"] });
  instances = instances.map((i) => ({ ...i, revision: "new" }));
  assert.deepEqual(nextUpdateStep({ ...base, instances }), { kind: "done" });
});

test("a serial update waits for readiness, but replaces a broken outdated instance at once", () => {
  const base = { desiredRevision: () => "new", roles, strategy: "Serial" as const, canSwitchover: true };
  const waiting = nextUpdateStep({
    ...base,
    instances: [inst("pg-0", "primary"), inst("pg-1", "secondary", "new", false)],
  });
  assert.equal(waiting.kind, "wait");
  const broken = nextUpdateStep({
    ...base,
    instances: [inst("pg-0", "primary"), inst("pg-1", "secondary", "old", false, true)],
  });
  assert.deepEqual(broken, { kind: "recreate", pods: ["pg-1"] });
});

test("a primary that is only briefly not ready is waited for, then switched over, not replaced at once", () => {
  const base = { desiredRevision: () => "new", roles, strategy: "Serial" as const, canSwitchover: true };
  const secondaries = [inst("pg-1", "secondary", "new"), inst("pg-2", "secondary", "new")];
  const blip = nextUpdateStep({
    ...base,
    instances: [inst("pg-0", "primary", "old", false), ...secondaries],
  });
  assert.equal(blip.kind, "wait");
  const recovered = nextUpdateStep({ ...base, instances: [inst("pg-0", "primary"), ...secondaries] });
  assert.deepEqual(recovered, { kind: "switchover", pod: "pg-0" });
});

test("a lone primary or one without a switchover action is replaced directly", () => {
  const base = { desiredRevision: () => "new", roles, strategy: "Serial" as const };
  assert.deepEqual(nextUpdateStep({ ...base, canSwitchover: true, instances: [inst("pg-0", "primary")] }), {
    kind: "recreate",
    pods: ["pg-0"],
  });
  assert.deepEqual(
    nextUpdateStep({
      ...base,
      canSwitchover: false,
      instances: [inst("pg-0", "primary"), inst("pg-1", "secondary", "new")],
    }),
    { kind: "recreate", pods: ["pg-0"] },
  );
});

test("scale-in removes the highest ordinal and the writable instance last", () => {
  assert.equal(nextToRemove([inst("pg-3", "secondary"), inst("pg-4", "secondary")], roles)?.name, "pg-4");
  assert.equal(nextToRemove([inst("pg-4", "primary"), inst("pg-3", "secondary")], roles)?.name, "pg-3");
});

test("a removed instance that joined keeps its status entry while its pod exists, so memberLeave still runs", () => {
  const previous = [
    { name: "db-0", ordinal: 0, ready: true, memberJoined: true },
    { name: "db-3", ordinal: 3, ready: true, memberJoined: true },
    { name: "db-4", ordinal: 4, ready: true },
  ];
  const present = [inst("db-0", undefined), inst("db-3", undefined), inst("db-4", undefined)];
  assert.deepEqual(leavingMembers(previous, new Set(["db-0"]), present), [
    { name: "db-3", ordinal: 3, ready: true, memberJoined: true },
  ]);
  // Once its pod is gone, so is the entry.
  assert.deepEqual(leavingMembers(previous, new Set(["db-0"]), present.slice(0, 1)), []);
});

test("a deleted primary's replacement waits for its failover, never past the hold, and only where it helps", () => {
  const hold = (over: Partial<Parameters<typeof replacementHoldMs>[0]>) =>
    replacementHoldMs({
      instance: "pg-0",
      ha: { primary: "pg-0", epoch: 1 },
      arbitrated: true,
      deletedAt: 1_000,
      othersReady: true,
      now: 2_000,
      ...over,
    });
  assert.equal(hold({}), FAILOVER_HOLD_MS - 1_000, "failover has not promoted anyone yet");
  const promoting = {
    primary: "pg-1",
    epoch: 2,
    promotePending: true,
    lastFailover: { from: "pg-0", to: "pg-1", at: "", reason: "" },
  };
  assert.equal(hold({ ha: promoting }), FAILOVER_HOLD_MS - 1_000, "the promotion is still running");
  assert.equal(hold({ ha: { ...promoting, promotePending: false } }), 0, "a replica was promoted");
  assert.equal(
    hold({ now: 1_000 + FAILOVER_HOLD_MS }),
    0,
    "a failover that cannot finish keeps it no longer",
  );
  assert.equal(hold({ instance: "pg-2" }), 0, "a replica's replacement never waits");
  assert.equal(hold({ deletedAt: undefined }), 0, "a pod not seen deleted (a start) never waits");
  assert.equal(hold({ othersReady: false }), 0, "nobody could take over");
  assert.equal(hold({ arbitrated: false }), 0, "the engine fails over by itself");
});
