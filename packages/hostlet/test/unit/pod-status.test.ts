import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import type { ContainerState, Terminated } from "../../src/pods/container-state.js";
import { computePodStatus, type ContainerView } from "../../src/pods/pod-status.js";

const pod = (restartPolicy: string): V1Pod => ({
  metadata: { name: "p", namespace: "ns" },
  spec: { restartPolicy, containers: [] },
  status: { conditions: [{ type: "PodScheduled", status: "True" }] },
});

const running: ContainerState = { kind: "running", startedAt: "2024-01-01T00:00:00Z" };
const exited = (exitCode: number): Terminated => ({
  kind: "terminated",
  exitCode,
  reason: exitCode === 0 ? "Completed" : "Error",
  finishedAt: "2024-01-01T00:01:00Z",
});
const container = (
  name: string,
  state: ContainerState,
  extra: Partial<ContainerView> = {},
): ContainerView => ({
  name,
  image: "busybox",
  imageID: "",
  init: false,
  state,
  restartCount: 0,
  started: true,
  ready: true,
  ...extra,
});

function status(restartPolicy: string, containers: ContainerView[], prepareError?: string) {
  return computePodStatus({
    pod: pod(restartPolicy),
    containers,
    hostIP: "127.0.0.1",
    podIP: "127.1.0.9",
    startTime: "t",
    prepareError,
  });
}

const conditionOf = (s: ReturnType<typeof status>, type: string) =>
  s.conditions!.find((c) => c.type === type)?.status;

test("init containers keep the pod Pending and not Initialized until they all succeed", () => {
  const s = status("Always", [
    container("init", exited(0), { init: true }),
    container("init2", running, { init: true }),
    container("main", { kind: "waiting", reason: "PodInitializing" }),
  ]);
  assert.equal(s.phase, "Pending");
  assert.equal(conditionOf(s, "Initialized"), "False");
  assert.equal(s.initContainerStatuses!.length, 2);
  assert.deepEqual(s.podIPs, [{ ip: "127.1.0.9" }]);
});

test("running containers make the pod Running; Ready needs every container started and ready", () => {
  const ready = status("Always", [container("a", running), container("b", running)]);
  assert.equal(ready.phase, "Running");
  assert.equal(conditionOf(ready, "Ready"), "True");
  assert.equal(conditionOf(ready, "PodScheduled"), "True", "the scheduler's condition is kept");
  const notReady = status("Always", [container("a", running), container("b", running, { ready: false })]);
  assert.equal(conditionOf(notReady, "Ready"), "False");
  assert.match(notReady.conditions!.find((c) => c.type === "Ready")!.message!, /\[b\]/);
  const starting = status("Always", [container("a", running, { started: false })]);
  assert.equal(starting.containerStatuses![0]!.started, false);
});

test("a crash-looping container keeps the pod Running with its last state", () => {
  const s = status("Always", [
    container(
      "a",
      { kind: "waiting", reason: "CrashLoopBackOff" },
      { lastTerminated: exited(1), restartCount: 3 },
    ),
  ]);
  assert.equal(s.phase, "Running");
  assert.equal(s.containerStatuses![0]!.lastState!.terminated!.exitCode, 1);
  assert.equal(s.containerStatuses![0]!.restartCount, 3);
});

test("terminated containers end the pod per restart policy", () => {
  assert.equal(status("Never", [container("a", exited(0)), container("b", exited(0))]).phase, "Succeeded");
  assert.equal(status("Never", [container("a", exited(0)), container("b", exited(2))]).phase, "Failed");
  assert.equal(status("OnFailure", [container("a", exited(0))]).phase, "Succeeded");
  assert.equal(status("OnFailure", [container("a", exited(1))]).phase, "Running", "it will be restarted");
  assert.equal(status("Always", [container("a", exited(0))]).phase, "Running");
  assert.equal(
    status("Never", [
      container("i", exited(1), { init: true }),
      container("a", { kind: "waiting", reason: "PodInitializing" }),
    ]).phase,
    "Failed",
  );
});

test("a pod whose volumes are not ready shows ContainerCreating with the reason", () => {
  const s = status(
    "Always",
    [container("a", { kind: "waiting", reason: "ContainerCreating" })],
    'persistentvolumeclaim "data" is not bound yet',
  );
  assert.equal(s.phase, "Pending");
  assert.deepEqual(s.containerStatuses![0]!.state, {
    waiting: { reason: "ContainerCreating", message: 'persistentvolumeclaim "data" is not bound yet' },
  });
});
