import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { API_VERSION, labels, type Cluster } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import type { TestPlatform } from "../../../../test/support/platform.js";
import { kvCluster, startOperatorEnv } from "../fixtures/env.js";
import { eventReasons, getOps, opsManifest, opsRef, waitForOps } from "../../../../test/support/ops.js";

// The operations runner on the operator's test platform: no node, so pods
// stay Pending and clusters never get Running. That is enough for
// everything that does not need a running database: the queue, preconditions,
// cancelling, timeouts, progress deadlines, TTLs and Stop itself.

let env: TestPlatform;
let ns: string;

before(async () => {
  env = await startOperatorEnv();
  ns = await env.cluster.createNamespace("ops");
});

after(async () => {
  await env?.stop();
});

async function count(kind: string, cluster: string): Promise<number> {
  const list = await env.client.list("v1", kind, {
    namespace: ns,
    labelSelector: `${labels.cluster}=${cluster}`,
  });
  return list.items.filter((i) => !i.metadata?.deletionTimestamp).length;
}

async function cluster(name: string): Promise<Cluster> {
  return env.client.get<Cluster>({ apiVersion: API_VERSION, kind: "Cluster", namespace: ns, name });
}

/** A kv cluster whose three pods (Pending) and claims exist. */
async function createCluster(name: string): Promise<void> {
  await env.apply(kvCluster(ns, name, { replicas: 3 }));
  await waitFor(
    async () => (await count("Pod", name)) === 3 && (await count("PersistentVolumeClaim", name)) === 3,
    {
      description: `the pods and claims of ${name}`,
      timeoutMs: 60_000,
    },
  );
}

/** Stops a cluster through an OpsRequest and waits for it. */
async function stopCluster(name: string, op: string): Promise<void> {
  await env.apply(opsManifest(ns, op, name, "Stop"));
  await waitForOps(env.client, ns, op, "Succeed");
}

test("Stop deletes every pod, keeps the volumes and data, and records each instance's progress and every step as Events", async () => {
  await createCluster("stop");
  await env.apply(opsManifest(ns, "stop-1", "stop", "Stop"));
  const done = await waitForOps(env.client, ns, "stop-1", "Succeed");
  assert.equal(await count("Pod", "stop"), 0);
  assert.equal(await count("PersistentVolumeClaim", "stop"), 3, "volumes are kept");
  const stopped = await cluster("stop");
  assert.equal(stopped.spec.componentSpecs[0]!.stop, true);
  assert.equal(stopped.status?.phase, "Stopped");
  assert.equal(done.status?.progress, "3/3");
  assert.deepEqual(
    done.status?.instances?.map((i) => [i.name, i.action, i.phase]),
    ["stop-kv-0", "stop-kv-1", "stop-kv-2"].map((n) => [n, "Stop", "Succeed"]),
  );
  assert.ok(done.status?.instances?.every((i) => !Number.isNaN(Date.parse(i.since))));
  assert.equal(done.status?.steps?.[0]?.phase, "Succeed");
  assert.ok(done.status?.startTimestamp && done.status.completionTimestamp);
  assert.deepEqual(done.status?.lastConfiguration, { kv: { stop: false } });
  assert.ok(
    done.metadata.ownerReferences?.some((o) => o.kind === "Cluster" && o.uid === stopped.metadata.uid),
    "the operation belongs to its cluster",
  );
  const reasons = await eventReasons(env.client, ns, "stop-1");
  for (const reason of ["Started", "StepStarted", "InstanceSucceed", "StepSucceeded", "Succeed"]) {
    assert.ok(reasons.includes(reason), `an Event ${reason} among ${reasons.join(", ")}`);
  }

  // Stopping a stopped cluster has nothing to do, and succeeds.
  await env.apply(opsManifest(ns, "stop-2", "stop", "Stop"));
  await waitForOps(env.client, ns, "stop-2", "Succeed");
});

test("operations on one cluster run one at a time in creation order; a queued one can be cancelled and never starts; cancelling a running Start stops the cluster again", async () => {
  await createCluster("queue");
  await stopCluster("queue", "queue-stop");
  // Pods never get ready here, so this Start runs until it is cancelled.
  await env.apply(opsManifest(ns, "queue-1-start", "queue", "Start"));
  await waitForOps(env.client, ns, "queue-1-start", "Running");
  await env.apply(opsManifest(ns, "queue-2-restart", "queue", "Restart"));
  await env.apply(opsManifest(ns, "queue-3-stop", "queue", "Stop"));
  for (const name of ["queue-2-restart", "queue-3-stop"]) {
    const queued = await waitFor(
      async () => {
        const op = await getOps(env.client, ns, name);
        return op.status?.reason === "Queued" ? op : undefined;
      },
      { description: `${name} to be queued`, timeoutMs: 30_000 },
    );
    assert.equal(queued.status?.phase, "Pending");
    assert.match(queued.status!.message!, /queued behind OpsRequest queue-1-start \(Running\)/);
  }
  await waitFor(async () => (await count("Pod", "queue")) === 3, {
    description: "the pods to come back",
    timeoutMs: 30_000,
  });

  await env.client.patch(opsRef(ns, "queue-2-restart"), { spec: { cancel: true } }, "merge");
  const cancelledEarly = await waitForOps(env.client, ns, "queue-2-restart", "Cancelled");
  assert.equal(cancelledEarly.status?.reason, "CancelledWhilePending");
  assert.equal(cancelledEarly.status?.startTimestamp, undefined, "it never started");
  assert.equal((await getOps(env.client, ns, "queue-1-start")).status?.phase, "Running");

  await env.client.patch(opsRef(ns, "queue-1-start"), { spec: { cancel: true } }, "merge");
  const cancelled = await waitForOps(env.client, ns, "queue-1-start", "Cancelled");
  assert.equal(cancelled.status?.reason, "CancelledWhileRunning");
  assert.equal((await cluster("queue")).spec.componentSpecs[0]!.stop, true, "the stop it undid is back");
  assert.equal(await count("Pod", "queue"), 0);
  const reasons = await eventReasons(env.client, ns, "queue-1-start");
  assert.ok(reasons.includes("Cancelling") && reasons.includes("Cancelled"), reasons.join(", "));

  const last = await waitForOps(env.client, ns, "queue-3-stop", "Succeed");
  assert.ok(
    Date.parse(last.status!.startTimestamp!) >= Date.parse(cancelled.status!.completionTimestamp!),
    "the next operation started only after the previous one ended",
  );
});

test("a Start past its timeoutSeconds is Aborted and what it changed stays", async () => {
  await createCluster("timeout");
  await stopCluster("timeout", "timeout-stop");
  await env.apply(opsManifest(ns, "timeout-start", "timeout", "Start", "  timeoutSeconds: 3\n"));
  const aborted = await waitForOps(env.client, ns, "timeout-start", "Aborted");
  assert.equal(aborted.status?.reason, "TimedOut");
  assert.match(
    aborted.status!.message!,
    /not done within spec.timeoutSeconds \(3s\); what it changed stays; not done: timeout-kv-0/,
  );
  assert.equal((await cluster("timeout")).spec.componentSpecs[0]!.stop, false);
  assert.ok((await eventReasons(env.client, ns, "timeout-start")).includes("Aborted"));
});

test("an operation that cannot reach its goal Fails once it makes no progress for progressDeadlineSeconds, naming what it waits for", async () => {
  await createCluster("stuck");
  await stopCluster("stuck", "stuck-stop");
  await env.apply(opsManifest(ns, "stuck-start", "stuck", "Start", "  progressDeadlineSeconds: 3\n"));
  const failed = await waitForOps(env.client, ns, "stuck-start", "Failed");
  assert.equal(failed.status?.reason, "ProgressDeadlineExceeded");
  assert.match(failed.status!.message!, /no progress for 3s/);
  assert.match(failed.status!.message!, /stuck-kv-0 \(Start Processing/);
  assert.deepEqual(
    failed.status?.instances?.map((i) => i.phase),
    ["Processing", "Processing", "Processing"],
  );
});

test("an unmet precondition fails the operation with the reason, at once or after preConditionDeadlineSeconds", async () => {
  await createCluster("pre");
  await env.apply(opsManifest(ns, "pre-restart", "pre", "Restart"));
  const failed = await waitForOps(env.client, ns, "pre-restart", "Failed");
  assert.equal(failed.status?.reason, "PreconditionFailed");
  assert.match(failed.status!.message!, /component kv is still being created/);
  assert.equal(failed.status?.startTimestamp, undefined);

  await env.apply(opsManifest(ns, "pre-wait", "pre", "Restart", "  preConditionDeadlineSeconds: 3\n"));
  const waiting = await waitFor(
    async () => {
      const op = await getOps(env.client, ns, "pre-wait");
      return op.status?.reason === "PreconditionNotMet" ? op : undefined;
    },
    { description: "the operation to wait for its precondition", timeoutMs: 30_000 },
  );
  assert.equal(waiting.status?.phase, "Pending");
  const late = await waitForOps(env.client, ns, "pre-wait", "Failed");
  assert.equal(late.status?.reason, "PreconditionFailed");
  assert.ok(
    Date.parse(late.status!.completionTimestamp!) - Date.parse(String(late.metadata.creationTimestamp)) >=
      2000,
    "it waited out its precondition deadline",
  );
});

test("finished operations are deleted after their TTL, by outcome", async () => {
  await createCluster("ttl");
  await env.apply(opsManifest(ns, "ttl-stop", "ttl", "Stop", "  ttlSecondsAfterSucceed: 1\n"));
  await env.apply(
    opsManifest(
      ns,
      "ttl-restart",
      "ttl",
      "Restart",
      "  ttlSecondsAfterSucceed: 3600\n  ttlSecondsAfterUnsuccessfulCompletion: 1\n",
    ),
  );
  await env.apply(opsManifest(ns, "ttl-kept", "ttl", "Restart"));
  for (const name of ["ttl-stop", "ttl-restart"]) {
    await waitFor(async () => !(await env.client.find(opsRef(ns, name))), {
      description: `${name} to be deleted after its TTL`,
      timeoutMs: 30_000,
    });
  }
  const kept = await waitForOps(env.client, ns, "ttl-kept", "Failed");
  assert.equal(kept.status?.reason, "PreconditionFailed", "a stopped cluster cannot restart");
  assert.ok(await env.client.find(opsRef(ns, "ttl-kept")), "an operation without a TTL is kept");
});

test("deleting a cluster deletes its operations, running ones included, without finalizers", async () => {
  await createCluster("gone");
  await stopCluster("gone", "gone-stop");
  await env.apply(opsManifest(ns, "gone-start", "gone", "Start"));
  await waitForOps(env.client, ns, "gone-start", "Running");
  await env.client.delete({ apiVersion: API_VERSION, kind: "Cluster", namespace: ns, name: "gone" });
  for (const name of ["gone-stop", "gone-start"]) {
    await waitFor(async () => !(await env.client.find(opsRef(ns, name))), {
      description: `${name} to go with its cluster`,
      timeoutMs: 60_000,
    });
  }
});
