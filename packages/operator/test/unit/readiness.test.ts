import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1ContainerStatus, V1Pod, V1PodCondition } from "@kubernetes/client-node";
import { instanceProblem, summariseNotReady } from "../../src/instanceset/readiness.js";
import { clusterMessage } from "../../src/cluster/controller.js";

const unschedulable = "0/1 nodes are available: 1 Insufficient memory.";

function pod(status: V1Pod["status"], deleting = false): V1Pod {
  return {
    metadata: { name: "db-kv-0", ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    status,
  };
}

const cond = (type: string, ok: boolean, reason?: string, message?: string): V1PodCondition => ({
  type,
  status: ok ? "True" : "False",
  ...(reason ? { reason } : {}),
  ...(message ? { message } : {}),
});

const container = (over: Partial<V1ContainerStatus>): V1ContainerStatus => ({
  name: "kv",
  image: "busybox",
  imageID: "",
  ready: false,
  restartCount: 0,
  ...over,
});

test("an unschedulable pod carries the scheduler's reason and message", () => {
  const problem = instanceProblem(
    pod({ phase: "Pending", conditions: [cond("PodScheduled", false, "Unschedulable", unschedulable)] }),
  );
  assert.deepEqual(problem, { reason: "Unschedulable", message: unschedulable });
});

test("a container that cannot start gives its waiting reason and the node's message", () => {
  const problem = instanceProblem(
    pod({
      phase: "Pending",
      conditions: [cond("PodScheduled", true)],
      containerStatuses: [
        container({
          state: {
            waiting: { reason: "ErrImagePull", message: "no host software provides image nosuch:1" },
          },
        }),
      ],
    }),
  );
  assert.deepEqual(problem, {
    reason: "ErrImagePull",
    message: "container kv: no host software provides image nosuch:1",
  });
});

test("a crash-looping container says so, with how it last exited", () => {
  const problem = instanceProblem(
    pod({
      phase: "Running",
      containerStatuses: [
        container({
          restartCount: 4,
          state: {
            waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" },
          },
          lastState: { terminated: { exitCode: 1, reason: "Error" } },
        }),
      ],
    }),
  );
  assert.deepEqual(problem, {
    reason: "CrashLoopBackOff",
    message: "container kv: back-off 40s restarting failed container; last exited with code 1 (Error)",
  });
});

test("between two crashes, a running container that is not ready reports its restarts", () => {
  const problem = instanceProblem(
    pod({
      phase: "Running",
      conditions: [cond("Ready", false, "ContainersNotReady", "containers with unready status: [kv]")],
      containerStatuses: [
        container({
          restartCount: 2,
          state: { running: {} },
          lastState: { terminated: { exitCode: 137, reason: "Error", message: "killed\n" } },
        }),
      ],
    }),
  );
  assert.deepEqual(problem, {
    reason: "Restarted",
    message: "container kv restarted 2 time(s), last exited with code 137 (Error: killed)",
  });
});

test("a running pod whose readiness probe fails gives the Ready condition's reason", () => {
  const problem = instanceProblem(
    pod({
      phase: "Running",
      conditions: [cond("Ready", false, "ContainersNotReady", "containers with unready status: [kv]")],
      containerStatuses: [container({ state: { running: {} } })],
    }),
  );
  assert.deepEqual(problem, {
    reason: "ContainersNotReady",
    message: "containers with unready status: [kv]",
  });
});

test("ended and terminating pods say so", () => {
  assert.deepEqual(instanceProblem(pod({ phase: "Failed", reason: "Evicted", message: "low on memory" })), {
    reason: "Evicted",
    message: "low on memory",
  });
  assert.equal(instanceProblem(pod({ phase: "Running" }, true))?.reason, "Terminating");
});

test("a pod that is simply starting, or ready, has no problem", () => {
  assert.equal(instanceProblem(pod({ phase: "Pending" })), undefined);
  assert.equal(
    instanceProblem(
      pod({
        phase: "Pending",
        conditions: [cond("PodScheduled", true)],
        containerStatuses: [container({ state: { waiting: { reason: "ContainerCreating" } } })],
      }),
    ),
    undefined,
  );
  assert.equal(
    instanceProblem(
      pod({
        phase: "Running",
        conditions: [cond("Ready", true)],
        containerStatuses: [
          container({ ready: true, restartCount: 1, lastState: { terminated: { exitCode: 1 } } }),
        ],
      }),
    ),
    undefined,
  );
});

test("the summary names each stuck instance once, grouping those with the same problem", () => {
  const summary = summariseNotReady([
    { name: "db-kv-0", ready: false, reason: "Unschedulable", message: unschedulable },
    { name: "db-kv-1", ready: true },
    { name: "db-kv-2", ready: false, reason: "Unschedulable", message: unschedulable },
    { name: "db-kv-3", ready: false, reason: "CrashLoopBackOff", message: "container kv: back-off 10s" },
    { name: "db-kv-4", ready: false },
  ]);
  assert.equal(
    summary,
    `db-kv-0, db-kv-2 Unschedulable: ${unschedulable}; db-kv-3 CrashLoopBackOff: container kv: back-off 10s`,
  );
});

test("the summary spells out three problems and counts the instances of the others", () => {
  const instances = ["A", "B", "C", "D", "E"].map((reason, i) => ({
    name: `db-kv-${i}`,
    ready: false,
    reason,
  }));
  assert.equal(summariseNotReady(instances), "db-kv-0 A; db-kv-1 B; db-kv-2 C; 2 more instance(s) not ready");
});

test("without a known problem there is no summary", () => {
  assert.equal(summariseNotReady([{ name: "db-kv-0", ready: false }]), undefined);
  assert.equal(summariseNotReady([]), undefined);
});

test("the cluster's message carries the component's explanation of what it waits for", () => {
  const stuck = `0/1 instances ready, 1 updated; db-kv-0 Unschedulable: ${unschedulable}`;
  assert.equal(
    clusterMessage("Creating", "kv", [{ name: "kv", phase: "Creating", message: stuck }]),
    `waiting for component kv: ${stuck}`,
  );
  assert.equal(
    clusterMessage("Abnormal", undefined, [
      { name: "kv", phase: "Running", message: "3/3 instances ready" },
      { name: "proxy", phase: "Abnormal", message: "no instance holds the writable role" },
    ]),
    "Abnormal; component proxy: no instance holds the writable role",
  );
  assert.equal(clusterMessage("Creating", "kv", [{ name: "kv" }]), "waiting for component kv");
  assert.equal(
    clusterMessage("Running", undefined, [{ name: "kv", phase: "Running", message: "3/3 ready" }]),
    "all components running",
  );
});
