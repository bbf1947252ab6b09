import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { API_VERSION, labels, type Cluster, type OpsRequest } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { TestPlatform } from "../../../../test/support/platform.js";
import { KV_ADDON, kvCluster } from "../fixtures/env.js";
import {
  eventReasons,
  getOps,
  opsManifest,
  waitForOps,
  watchDeletions,
} from "../../../../test/support/ops.js";

// The operator killed in the middle of the operations whose steps act on
// running instances (actions, deletions, rolls), on a hostlet node with the
// kv test addon: the restarted operator finishes each from what it persisted,
// nothing is done twice except what the type documents, and nothing is
// skipped. One three-instance cluster, created on version 1.0, serves every
// case in order.

let platform: TestPlatform;
let ns: string;
const CLUSTER = "crash";
const KV = `${CLUSTER}-kv`;
const INSTANCES = [0, 1, 2].map((i) => `${KV}-${i}`);

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("ops-crash");
  await platform.apply(
    kvCluster(ns, CLUSTER, {
      extra: '      serviceVersion: "1.0"\n      parameters: { greeting: "hello" }\n',
    }),
  );
  await platform.waitForPhase(ns, CLUSTER, "Running");
});

after(async () => {
  await platform?.stop();
});

/** Kills the operator the moment `point` becomes true, then starts a fresh one. */
async function crashWhen(description: string, point: () => boolean | Promise<boolean>) {
  await waitFor(point, { description, timeoutMs: 60_000, intervalMs: 10 });
  await platform.operator.kill();
  await platform.operator.restart();
}

const pods = () => platform.instances(ns, KV);

async function primary(): Promise<string> {
  const found = (await pods()).find((p) => p.metadata?.labels?.[labels.role] === "primary");
  return found!.metadata!.name!;
}

async function exec(pod: string, script: string): Promise<string> {
  const result = await platform.cluster.kubectl([
    "exec",
    "-n",
    ns,
    pod,
    "-c",
    "kv",
    "--",
    "sh",
    "-c",
    script,
  ]);
  assert.equal(result.code, 0, `exec in ${pod}: ${result.stderr}`);
  return result.stdout.trim();
}

async function apply(name: string, type: string, section: string): Promise<void> {
  await platform.apply(opsManifest(ns, name, CLUSTER, type, section));
}

test("killed while a custom action runs on an instance, the operation Succeeds with every target run and only that instance may run it again", async () => {
  const text = "crash-note";
  await apply(
    "note",
    "Custom",
    `  custom: { componentName: kv, opsName: note, parameters: { text: ${text} } }\n`,
  );
  let doneBefore: string[] = [];
  let running: string | undefined;
  await crashWhen("the action running on the second instance", async () => {
    const status = (await getOps(platform.client, ns, "note")).status;
    doneBefore = status?.steps?.[0]?.completed ?? [];
    // An instance just done is still reported Processing until the status write that follows.
    running = status?.instances?.find((i) => i.phase === "Processing" && !doneBefore.includes(i.name))?.name;
    return doneBefore.length > 0 && running !== undefined;
  });
  const done = await waitForOps(platform.client, ns, "note", "Succeed", 120_000);
  assert.equal(done.status?.progress, "3/3");
  const targets = done.status!.steps![0]!.targets!;
  assert.deepEqual(done.status?.steps?.[0]?.completed, targets);
  const runs = Object.fromEntries(
    await Promise.all(
      targets.map(async (pod) => {
        const notes = await exec(pod, "cat /data/notes 2>/dev/null || true");
        return [pod, notes.split("\n").filter((l) => l === `info ${text}`).length] as const;
      }),
    ),
  );
  const again = Object.keys(runs).filter((pod) => runs[pod] !== 1);
  assert.ok(
    Object.values(runs).every((n) => n >= 1),
    `every target ran it: ${JSON.stringify(runs)}`,
  );
  assert.ok(again.length <= 1, `at most one instance ran it again: ${JSON.stringify(runs)}`);
  assert.ok(
    again.every((pod) => runs[pod] === 2 && !doneBefore.includes(pod)),
    `only the instance it ran on at the kill (${running}) may run it twice: ${JSON.stringify(runs)}`,
  );
  const reasons = await eventReasons(platform.client, ns, "note");
  assert.equal(reasons.filter((r) => r === "Succeed").length, 1, `ended once: ${reasons.join(", ")}`);
});

/** The last reconfigure call each instance took. */
async function lastApplied(): Promise<string[]> {
  return Promise.all(
    INSTANCES.map(async (pod) => (await exec(pod, "cat /data/reconfigured")).split("\n").at(-1)!),
  );
}

async function parameters(): Promise<Record<string, string> | undefined> {
  const cluster = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: CLUSTER,
  });
  return cluster.spec.componentSpecs[0]!.parameters;
}

const revertKillPoints: [string, () => Promise<boolean>][] = [
  ["the refusal is recorded", async () => true],
  ["the previous value is written back", async () => (await parameters())?.greeting === "hello"],
];

revertKillPoints.forEach(([point, reached], i) => {
  test(`killed when ${point}, a refused value ends with every instance on the previous value and the op Failed with the engine's message`, async () => {
    const name = `refused-${i}`;
    await apply(
      name,
      "Reconfiguring",
      '  reconfiguring: [{ componentName: kv, parameters: { greeting: "hey!" } }]\n',
    );
    await crashWhen(point, async () => {
      const status = (await getOps(platform.client, ns, name)).status;
      return status?.phase === "Running" && status.steps?.[0]?.refusal !== undefined && (await reached());
    });
    const failed = await waitForOps(platform.client, ns, name, "Failed", 120_000);
    assert.equal(failed.status?.reason, "EngineRefused");
    assert.match(failed.status?.message ?? "", /a secondary refuses an exclaimed greeting/);
    assert.deepEqual(await parameters(), { greeting: "hello" });
    assert.deepEqual(
      await lastApplied(),
      INSTANCES.map(() => '{"greeting":"hello"}'),
    );
  });
});

async function claimOf(instance: string): Promise<V1PersistentVolumeClaim | undefined> {
  const list = await platform.client.list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
    namespace: ns,
    labelSelector: `${labels.podName}=${instance}`,
  });
  return list.items[0];
}

const HOLD = "ops-crash-hold-pod-deletion";

/**
 * A webhook nobody answers, failing closed, on the deletion of one pod: the
 * operation's claim deletion goes through and its pod deletion does not, so
 * the operator can be killed between the two (otherwise one request apart).
 */
function holdPodDeletion(instance: string) {
  return platform.client.create({
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: HOLD },
    webhooks: [
      {
        name: "hold.ops-crash.tessera.dev",
        rules: [{ operations: ["DELETE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
        objectSelector: { matchLabels: { [labels.podName]: instance } },
        clientConfig: { url: "https://127.0.0.1:1/" },
        failurePolicy: "Fail",
        sideEffects: "None",
        admissionReviewVersions: ["v1"],
        timeoutSeconds: 1,
      },
    ],
  });
}

test("killed after a rebuild deleted the claim and before it deleted the pod, the instance is rebuilt once and the op Succeeds", async () => {
  const leader = await primary();
  const replica = INSTANCES.find((n) => n !== leader)!;
  const pod = (await pods()).find((p) => p.metadata!.name === replica)!;
  const claim = (await claimOf(replica))!;
  const joins = async () =>
    (await exec(leader, "cat /data/members")).split("\n").filter((l) => l === replica).length;
  const joinedBefore = await joins();
  const watch = watchDeletions(platform.client, ns, KV);
  await holdPodDeletion(replica);
  try {
    await apply(
      "rebuild",
      "RebuildInstance",
      `  rebuildInstance: [{ componentName: kv, instances: [${replica}] }]\n`,
    );
    await waitFor(async () => Boolean((await claimOf(replica))?.metadata?.deletionTimestamp), {
      description: `the claim of ${replica} deleted`,
      timeoutMs: 60_000,
    });
    const held = (await pods()).find((p) => p.metadata!.name === replica);
    assert.equal(held?.metadata?.uid, pod.metadata!.uid);
    assert.equal(held?.metadata?.deletionTimestamp, undefined, "the pod is not deleted yet");
    await platform.operator.kill();
  } finally {
    await platform.client.delete({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      name: HOLD,
    });
  }
  let done: OpsRequest;
  try {
    await platform.operator.restart();
    done = await waitForOps(platform.client, ns, "rebuild", "Succeed", 120_000);
  } finally {
    await watch.stop();
  }
  const after = (await pods()).find((p) => p.metadata!.name === replica)!;
  assert.notEqual(after.metadata!.uid, pod.metadata!.uid, "a new pod");
  assert.notEqual((await claimOf(replica))!.metadata!.uid, claim.metadata!.uid, "a new claim");
  assert.deepEqual(
    watch.deletions.map((d) => d.pod),
    [replica],
    "its pod was deleted once",
  );
  assert.equal(await joins(), joinedBefore + 1, "it joined the primary once");
  assert.deepEqual(
    done.status?.instances?.map((i) => [i.name, i.phase]),
    [[replica, "Succeed"]],
  );
  await platform.waitForPhase(ns, CLUSTER, "Running");
});

test("killed mid-roll, an Upgrade replaces every instance exactly once, the primary last", async () => {
  const oldPrimary = await primary();
  const watch = watchDeletions(platform.client, ns, KV);
  let done: OpsRequest;
  try {
    await apply("upgrade", "Upgrade", '  upgrade: [{ componentName: kv, serviceVersion: "1.1" }]\n');
    await crashWhen("the first instance replaced", () => watch.deletions.length > 0);
    done = await waitForOps(platform.client, ns, "upgrade", "Succeed", 180_000);
  } finally {
    await watch.stop();
  }
  const order = watch.deletions.map((d) => d.pod);
  assert.deepEqual(
    [...order].sort(),
    INSTANCES,
    `each instance replaced once: ${JSON.stringify(watch.deletions)}`,
  );
  assert.equal(order.at(-1), oldPrimary, "the primary is replaced last");
  assert.ok(
    watch.deletions.every((d) => d.role !== "primary"),
    `never replaced while primary: ${JSON.stringify(watch.deletions)}`,
  );
  const images = (await pods()).map((p: V1Pod) => p.spec!.containers[0]!.image);
  assert.deepEqual(
    images,
    INSTANCES.map(() => "busybox:1.1"),
  );
  assert.equal(done.status?.progress, "3/3");
});
