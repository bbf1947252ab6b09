import { test } from "node:test";
import assert from "node:assert/strict";
import type { Cluster, OpsPhase, OpsRequest, OpsRequestSpec } from "@tessera/api";
import { horizontalScaling, scalingTarget } from "../../src/ops/handlers/horizontal-scaling.js";
import { nextMarker, restart } from "../../src/ops/handlers/restart.js";
import type { ClusterView } from "../../src/ops/handler.js";
import { mergeResources } from "../../src/ops/handlers/vertical-scaling.js";
import {
  expiresAt,
  mergeInstances,
  nextWake,
  progressText,
  queueHead,
  queueOrder,
  stalledAt,
  timeoutAt,
  waitingFor,
} from "../../src/ops/queue.js";
import { validateOpsRequest } from "../../src/ops/validate.js";
import { resolveCluster } from "../../src/definitions.js";
import { catalog, compDef } from "../fixtures/definitions.js";

function op(
  name: string,
  created: string,
  phase?: OpsPhase,
  spec: Partial<OpsRequestSpec> = {},
  status: OpsRequest["status"] = {},
): OpsRequest {
  return {
    apiVersion: "tessera.dev/v1alpha1",
    kind: "OpsRequest",
    metadata: { name, namespace: "ns", creationTimestamp: created },
    spec: {
      clusterName: "c1",
      type: "Restart",
      progressDeadlineSeconds: 600,
      preConditionDeadlineSeconds: 0,
      ...spec,
    },
    status: { ...status, ...(phase ? { phase } : {}) },
  };
}

const cluster: Cluster = {
  apiVersion: "tessera.dev/v1alpha1",
  kind: "Cluster",
  metadata: { name: "c1", namespace: "ns" },
  spec: {
    clusterDef: "kv",
    topology: "standalone",
    terminationPolicy: "Delete",
    componentSpecs: [
      {
        name: "kv",
        replicas: 3,
        offlineInstances: ["c1-kv-1"],
        resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m", memory: "512Mi" } },
      },
    ],
  },
};

test("the queue is creation order, then name order within the same second", () => {
  const ops = [
    op("b", "2024-01-01T00:00:05Z"),
    op("a", "2024-01-01T00:00:05Z"),
    op("c", "2024-01-01T00:00:01Z"),
  ];
  assert.deepEqual(
    queueOrder(ops).map((o) => o.metadata.name),
    ["c", "a", "b"],
  );
});

test("the head is the running operation, else the first pending one; finished ones are skipped", () => {
  const done = op("done", "2024-01-01T00:00:00Z", "Succeed");
  const first = op("first", "2024-01-01T00:00:01Z");
  const second = op("second", "2024-01-01T00:00:02Z");
  assert.equal(queueHead([second, done, first])?.metadata.name, "first");
  // An operation that started runs to its end even when an earlier one shows up (same second, lower name).
  const running = op("z-running", "2024-01-01T00:00:03Z", "Running");
  const early = op("a-early", "2024-01-01T00:00:03Z");
  assert.equal(queueHead([early, running])?.metadata.name, "z-running");
  assert.equal(queueHead([op("c", "2024-01-01T00:00:03Z", "Cancelling"), first])?.metadata.name, "c");
  assert.equal(queueHead([done]), undefined);
});

test("timeouts count from the start, TTLs from the completion by outcome, progress deadlines from the last progress", () => {
  const started = op(
    "o",
    "2024-01-01T00:00:00Z",
    "Running",
    { timeoutSeconds: 30 },
    {
      startTimestamp: "2024-01-01T00:01:00Z",
    },
  );
  assert.equal(timeoutAt(started), Date.parse("2024-01-01T00:01:30Z"));
  assert.equal(timeoutAt(op("o", "2024-01-01T00:00:00Z", "Pending", { timeoutSeconds: 30 })), undefined);
  assert.equal(stalledAt(started), Date.parse("2024-01-01T00:11:00Z"));
  const progressed = op(
    "o",
    "2024-01-01T00:00:00Z",
    "Running",
    { progressDeadlineSeconds: 5 },
    {
      startTimestamp: "2024-01-01T00:01:00Z",
      lastProgressTime: "2024-01-01T00:02:00Z",
    },
  );
  assert.equal(stalledAt(progressed), Date.parse("2024-01-01T00:02:05Z"));

  const ttl = { ttlSecondsAfterSucceed: 10, ttlSecondsAfterUnsuccessfulCompletion: 60 };
  const completed = { completionTimestamp: "2024-01-01T00:05:00Z" };
  assert.equal(expiresAt(op("o", "x", "Succeed", ttl, completed)), Date.parse("2024-01-01T00:05:10Z"));
  for (const phase of ["Failed", "Cancelled", "Aborted"] as const) {
    assert.equal(expiresAt(op("o", "x", phase, ttl, completed)), Date.parse("2024-01-01T00:06:00Z"));
  }
  assert.equal(expiresAt(op("o", "x", "Running", ttl, completed)), undefined, "only finished ones expire");
  assert.equal(expiresAt(op("o", "x", "Succeed", {}, completed)), undefined, "kept without a TTL");
});

test("instance progress keeps `since` while a phase holds, and says when any phase changed", () => {
  const first = mergeInstances(
    undefined,
    [
      { name: "p-0", component: "kv", action: "Restart", phase: "Pending" },
      { name: "p-1", component: "kv", action: "Restart", phase: "Processing" },
    ],
    "t1",
  );
  assert.equal(first.changed, true);
  const same = mergeInstances(
    first.instances,
    first.instances.map(({ since: _since, ...rest }) => ({ ...rest, message: "still" })),
    "t2",
  );
  assert.equal(same.changed, false, "a new message is not progress");
  assert.deepEqual(
    same.instances.map((i) => i.since),
    ["t1", "t1"],
  );
  const next = mergeInstances(
    same.instances,
    [
      { name: "p-0", component: "kv", action: "Restart", phase: "Pending" },
      { name: "p-1", component: "kv", action: "Restart", phase: "Succeed" },
    ],
    "t3",
  );
  assert.equal(next.changed, true);
  assert.deepEqual(
    next.instances.map((i) => [i.name, i.phase, i.since]),
    [
      ["p-0", "Pending", "t1"],
      ["p-1", "Succeed", "t3"],
    ],
  );
  assert.equal(progressText(next.instances, []), "1/2");
  assert.equal(waitingFor(next.instances), "p-0 (Restart Pending)");
  assert.equal(
    progressText(
      [],
      [
        { name: "s", phase: "Succeed" },
        { name: "t", phase: "Running" },
      ],
    ),
    "1/2",
  );
});

test("the next wake is the earliest time still to come", () => {
  assert.equal(nextWake(1000, undefined, 5000, 3000), 2000);
  assert.equal(nextWake(1000, 500), 0);
  assert.equal(nextWake(1000), undefined);
});

test("a restart marker is later than any existing one, even one from a clock ahead of ours", () => {
  const now = Date.parse("2024-01-01T00:00:00Z");
  assert.equal(nextMarker(undefined, now), "2024-01-01T00:00:00.000Z");
  assert.equal(nextMarker("2023-12-31T00:00:00Z", now), "2024-01-01T00:00:00.000Z");
  assert.equal(nextMarker("2024-01-02T00:00:00.000Z", now), "2024-01-02T00:00:00.001Z");
  assert.equal(nextMarker("not a time", now), "2024-01-01T00:00:00.000Z");
});

test("horizontal scaling: replicas follow the instances taken offline and brought back unless set", () => {
  const before = { replicas: 3, offlineInstances: ["c1-kv-1"] };
  assert.deepEqual(scalingTarget({ componentName: "kv", offlineInstances: ["c1-kv-2"] }, before), {
    replicas: 2,
    offlineInstances: ["c1-kv-1", "c1-kv-2"],
  });
  assert.deepEqual(scalingTarget({ componentName: "kv", onlineInstances: ["c1-kv-1"] }, before), {
    replicas: 4,
    offlineInstances: [],
  });
  assert.deepEqual(scalingTarget({ componentName: "kv", replicas: 5 }, before), {
    replicas: 5,
    offlineInstances: ["c1-kv-1"],
  });
});

test("vertical scaling replaces only the amounts it names", () => {
  assert.deepEqual(mergeResources(cluster.spec.componentSpecs[0]!.resources, { limits: { cpu: "2" } }), {
    limits: { cpu: "2", memory: "1Gi" },
    requests: { cpu: "500m", memory: "512Mi" },
  });
  assert.deepEqual(mergeResources(undefined, { requests: { memory: "1Gi" } }), {
    requests: { memory: "1Gi" },
  });
});

test("requests are validated against the cluster: names, instances, replica limits, resources", () => {
  const check = (spec: Partial<OpsRequestSpec>) =>
    validateOpsRequest(catalog(), op("o", "2024-01-01T00:00:00Z", undefined, spec), cluster);
  assert.deepEqual(check({ type: "Restart" }), []);
  assert.deepEqual(check({ type: "Restart", restart: [{ componentName: "kv" }] }), []);
  assert.match(
    check({ type: "Restart", restart: [{ componentName: "db" }] }).join(),
    /spec\.restart\[0\]\.componentName: cluster c1 has no component "db"; components: "kv"/,
  );
  assert.match(
    check({ type: "Restart", restart: [{ componentName: "kv" }, { componentName: "kv" }] }).join(),
    /spec\.restart\[1\]\.componentName: component "kv" is listed twice; list it once/,
  );
  assert.match(
    check({ type: "Restart", stop: [{ componentName: "kv" }] }).join(),
    /spec\.stop: is for type Stop; this OpsRequest is a Restart/,
  );
  assert.match(
    check({ type: "HorizontalScaling", horizontalScaling: [{ componentName: "kv", replicas: 9 }] }).join(),
    /spec\.horizontalScaling\[0\]\.replicas: 9 instances is outside 1\.\.5 allowed by ComponentDefinition "kv-1\.1"/,
  );
  assert.match(
    check({
      type: "HorizontalScaling",
      horizontalScaling: [{ componentName: "kv", offlineInstances: ["c1-kv-7"] }],
    }).join(),
    /offlineInstances\[0\]: "c1-kv-7" is not an instance of component kv; instances: "c1-kv-0", "c1-kv-2", "c1-kv-3"/,
  );
  assert.match(
    check({
      type: "HorizontalScaling",
      horizontalScaling: [{ componentName: "kv", onlineInstances: ["c1-kv-0"] }],
    }).join(),
    /onlineInstances\[0\]: "c1-kv-0" is not an offline instance of component kv; offline: "c1-kv-1"/,
  );
  assert.deepEqual(
    check({
      type: "HorizontalScaling",
      horizontalScaling: [{ componentName: "kv", onlineInstances: ["c1-kv-1"] }],
    }),
    [],
  );
  assert.match(
    check({ type: "HorizontalScaling" }).join(),
    /spec\.horizontalScaling: list the components to scale/,
  );
  assert.match(
    check({
      type: "VerticalScaling",
      verticalScaling: [{ componentName: "kv", resources: { requests: { cpu: "2" } } }],
    }).join(),
    /spec\.verticalScaling\[0\]\.resources\.requests\.cpu: 2 is above the limit 1; lower the request or raise resources\.limits\.cpu/,
  );
  assert.match(
    check({
      type: "VerticalScaling",
      verticalScaling: [{ componentName: "kv", resources: { limits: { memory: "256Mi" } } }],
    }).join(),
    /spec\.verticalScaling\[0\]\.resources\.limits\.memory: 256Mi is below the component's request 512Mi/,
  );
  assert.match(
    check({ type: "Switchover", switchover: [{ componentName: "kv", candidateName: "c1-kv-0" }] }).join(),
    /has no writable role with a switchover action to move/,
  );
  assert.match(
    validateOpsRequest(catalog(), op("o", "x", undefined, { clusterName: "gone" }), undefined).join(),
    /spec\.clusterName: cluster "gone" not found in namespace ns/,
  );
});

test("once created, only cancel and the TTLs change; a running Restart cannot be cancelled", () => {
  const old = op("o", "x", "Running", { type: "Restart" });
  const update = (spec: Partial<OpsRequestSpec>, from = old) =>
    validateOpsRequest(catalog(), { ...from, spec: { ...from.spec, ...spec } }, cluster, from);
  assert.match(
    update({ type: "Stop" }).join(),
    /spec\.type: is immutable \(was "Restart"\); create a new OpsRequest of type Stop/,
  );
  assert.match(
    update({ timeoutSeconds: 5 }).join(),
    /spec\.timeoutSeconds: cannot change once the OpsRequest exists/,
  );
  assert.deepEqual(update({ ttlSecondsAfterSucceed: 5 }), []);
  assert.match(update({ cancel: true }).join(), /spec\.cancel: a Running Restart cannot be cancelled/);
  assert.deepEqual(update({ cancel: true }, op("o", "x", "Pending")), [], "a pending one can");
  const scaling = op("o", "x", "Running", {
    type: "HorizontalScaling",
    horizontalScaling: [{ componentName: "kv", replicas: 2 }],
  });
  assert.deepEqual(update({ cancel: true }, scaling), []);
});

test("the handlers' own validation sees the resolved definitions", () => {
  const resolved = resolveCluster(catalog(), cluster);
  assert.deepEqual(
    horizontalScaling.validate(
      op("o", "x", undefined, {
        type: "HorizontalScaling",
        horizontalScaling: [{ componentName: "kv", replicas: 0 }],
      }),
      cluster,
      resolved,
    ),
    [
      `spec.horizontalScaling[0].replicas: 0 instances is outside 1..5 allowed by ComponentDefinition "kv-1.1"`,
    ],
  );
});

test("a Restart of every component follows the topology's update order; listed ones the order given", () => {
  const release = { name: "r", serviceVersion: "1", images: {} };
  const view = {
    cluster: {
      ...cluster,
      metadata: { ...cluster.metadata, annotations: { "tessera.dev/restarted-at": "2999-01-01T00:00:00Z" } },
    },
    resolved: {
      topology: {
        name: "replication",
        components: [
          { name: "kv", compDef: "kv-" },
          { name: "watcher", compDef: "kv-watcher" },
        ],
        orders: { update: ["watcher", "kv"] },
      },
      components: [
        { name: "kv", compDef: compDef("kv-1.0"), release, specIndex: 0 },
        { name: "watcher", compDef: compDef("kv-watcher"), release, specIndex: 1 },
      ],
    },
  } as unknown as ClusterView;
  const all = restart.plan(op("o", "x"), view).steps;
  assert.deepEqual(
    all.map((s) => s.component),
    ["watcher", "kv"],
  );
  assert.ok(
    all.every((s) => s.marker === "2999-01-01T00:00:00.001Z"),
    "later than the cluster's own marker",
  );
  const listed = restart.plan(
    op("o", "x", undefined, { restart: [{ componentName: "kv" }, { componentName: "watcher" }] }),
    view,
  );
  assert.deepEqual(
    listed.steps.map((s) => s.component),
    ["kv", "watcher"],
  );
});
