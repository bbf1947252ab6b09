import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1PersistentVolumeClaim, V1Pod, V1Service } from "@kubernetes/client-node";
import { API_VERSION, labels, type Cluster, type ExposedService, type OpsRequest } from "@tessera/api";
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
// running instances, volumes and services (actions, deletions, rolls,
// expansions, exposed Services), on a hostlet node with the kv test addon:
// the restarted operator finishes each from what it persisted, nothing is
// done twice except what the type documents, and nothing is skipped or left
// half applied. One three-instance cluster, created on version 1.0, serves
// every case in order.

let platform: TestPlatform;
let ns: string;
const CLUSTER = "crash";
const KV = `${CLUSTER}-kv`;
const INSTANCES = [0, 1, 2].map((i) => `${KV}-${i}`);

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("ops-crash");
  await platform.apply(
    // A small CPU share: a fourth instance must fit on the node beside the three.
    kvCluster(ns, CLUSTER, {
      cpu: "100m",
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

async function clusterSpec() {
  const cluster = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: CLUSTER,
  });
  return cluster.spec.componentSpecs[0]!;
}

const parameters = async () => (await clusterSpec()).parameters;

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

const HOLD = "ops-crash-hold";
let holds = 0;

/** A webhook nobody answers, failing closed, on `rule` for the objects carrying `matchLabels`. */
function refusing(
  name: string,
  rule: { operations: string[]; resource: string },
  matchLabels: Record<string, string>,
) {
  return {
    name,
    rules: [
      { operations: rule.operations, apiGroups: [""], apiVersions: ["v1"], resources: [rule.resource] },
    ],
    objectSelector: { matchLabels },
    clientConfig: { url: "https://127.0.0.1:1/" },
    failurePolicy: "Fail",
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    timeoutSeconds: 1,
  };
}

/**
 * Runs `body` while `operations` of a core `resource` are refused for the
 * objects carrying `selector`: the requests the operator (or the node) makes
 * for them fail meanwhile, so the operator can be killed with a step half
 * done (otherwise one request apart from the next).
 */
async function holding(
  operations: string[],
  resource: string,
  selector: Record<string, string>,
  body: () => Promise<void>,
): Promise<void> {
  // A ConfigMap carrying this label is refused too: the API server loads a
  // webhook configuration a moment after it is written, and whole.
  const probe = { "ops-crash.tessera.dev/hold": String(++holds) };
  await platform.client.create({
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: HOLD },
    webhooks: [
      refusing("hold.ops-crash.tessera.dev", { operations, resource }, selector),
      refusing("probe.ops-crash.tessera.dev", { operations: ["CREATE"], resource: "configmaps" }, probe),
    ],
  });
  try {
    await waitFor(
      () =>
        platform.client
          .create(
            {
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name: "hold-probe", namespace: ns, labels: probe },
            },
            { dryRun: true },
          )
          .then(
            () => false,
            (error: Error) => /probe\.ops-crash/.test(error.message),
          ),
      { description: "the API server to refuse what is held", timeoutMs: 30_000, intervalMs: 50 },
    );
    await body();
  } finally {
    await platform.client.delete({
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      name: HOLD,
    });
  }
}

/** The operation's Events say it started at most once and ended once. */
async function endedOnce(name: string): Promise<void> {
  // The operator records the Event after the status that says Succeed: it may come a moment later.
  const reasons = await waitFor(
    async () => {
      const found = await eventReasons(platform.client, ns, name);
      return found.includes("Succeed") ? found : undefined;
    },
    { description: `the Succeed Event of ${name}`, timeoutMs: 30_000, intervalMs: 200 },
  );
  assert.ok(reasons.filter((r) => r === "Started").length <= 1, `started once: ${reasons.join(", ")}`);
  assert.equal(reasons.filter((r) => r === "Succeed").length, 1, `ended once: ${reasons.join(", ")}`);
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
  await holding(["DELETE"], "pods", { [labels.podName]: replica }, async () => {
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
  });
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

/**
 * Runs an operation that rolls every instance, the operator killed as the
 * first is replaced: each instance is replaced once, the primary last and
 * never while primary.
 */
async function rollResumes(name: string, type: string, section: string): Promise<OpsRequest> {
  const oldPrimary = await primary();
  const watch = watchDeletions(platform.client, ns, KV);
  let done: OpsRequest;
  try {
    await apply(name, type, section);
    await crashWhen("the first instance replaced", () => watch.deletions.length > 0);
    done = await waitForOps(platform.client, ns, name, "Succeed", 180_000);
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
  assert.equal(done.status?.progress, "3/3");
  return done;
}

test("killed mid-roll, an Upgrade replaces every instance exactly once, the primary last", async () => {
  await rollResumes("upgrade", "Upgrade", '  upgrade: [{ componentName: kv, serviceVersion: "1.1" }]\n');
  const images = (await pods()).map((p: V1Pod) => p.spec!.containers[0]!.image);
  assert.deepEqual(
    images,
    INSTANCES.map(() => "busybox:1.1"),
  );
});

test("killed mid-roll, a VerticalScaling replaces every instance exactly once, the primary last, each with the new resources", async () => {
  await rollResumes(
    "vertical",
    "VerticalScaling",
    "  verticalScaling: [{ componentName: kv, resources: { limits: { memory: 80Mi } } }]\n",
  );
  assert.equal((await clusterSpec()).resources?.limits?.memory, "80Mi");
  assert.deepEqual(
    (await pods()).map((p) => p.spec!.containers[0]!.resources?.limits?.memory),
    INSTANCES.map(() => "80Mi"),
  );
  await endedOnce("vertical");
});

test("killed when a Switchover recorded its attempt, the candidate ends as the one primary and the op Succeeds once", async () => {
  const from = await primary();
  await apply("switchover", "Switchover", "  switchover: [{ componentName: kv }]\n");
  let candidate: string | undefined;
  await crashWhen("the switchover attempt recorded", async () => {
    const step = (await getOps(platform.client, ns, "switchover")).status?.steps?.[0];
    candidate = step?.candidate;
    return (step?.attempts ?? 0) > 0;
  });
  const done = await waitForOps(platform.client, ns, "switchover", "Succeed", 120_000);
  const step = done.status!.steps![0]!;
  assert.ok(candidate && candidate !== from, `a replica was chosen, not ${from}`);
  assert.deepEqual([step.from, step.candidate], [from, candidate], "the step kept what it recorded");
  assert.ok((step.attempts ?? 0) <= 2, `the action ran again at most once: ${step.attempts} attempts`);
  const primaries = (await pods()).filter((p) => p.metadata?.labels?.[labels.role] === "primary");
  assert.deepEqual(
    primaries.map((p) => p.metadata!.name),
    [candidate],
  );
  assert.equal(await exec(candidate, "cat /data/role"), "primary");
  assert.equal(await exec(from, "cat /data/role"), "secondary");
  await endedOnce("switchover");
});

const ADDED = `${KV}-3`;

/** How many times the primaries logged `entry` (a join: the pod's name; a leave: "-" and its name). */
async function membership(entry: string): Promise<number> {
  const logs = await Promise.all(
    (await pods()).map((p) => exec(p.metadata!.name!, "cat /data/members 2>/dev/null || true")),
  );
  return logs.flatMap((log) => log.split("\n")).filter((line) => line === entry).length;
}

/** A HorizontalScaling to `replicas`, the operator killed once the Cluster records it, `held` on the added instance's pod. */
async function scalingResumes(name: string, replicas: number, held: string, whileHeld: () => Promise<void>) {
  await holding([held], "pods", { [labels.podName]: ADDED }, async () => {
    await apply(
      name,
      "HorizontalScaling",
      `  horizontalScaling: [{ componentName: kv, replicas: ${replicas} }]\n`,
    );
    await waitFor(async () => (await clusterSpec()).replicas === replicas, {
      description: `${replicas} replicas in the Cluster's spec`,
      timeoutMs: 60_000,
      intervalMs: 10,
    });
    await platform.operator.kill();
    await whileHeld();
  });
  await platform.operator.restart();
  await waitForOps(platform.client, ns, name, "Succeed", 120_000);
  await endedOnce(name);
}

test("killed when a HorizontalScaling recorded a fourth instance and before its pod was created, it resumes to four and the new one joins once; scaled back in, killed before that pod's deletion, it goes with its volume and leaves once", async () => {
  await scalingResumes("scale-out", 4, "CREATE", async () =>
    assert.deepEqual(
      (await pods()).map((p) => p.metadata!.name),
      INSTANCES,
      "no pod created yet",
    ),
  );
  assert.deepEqual(
    (await pods()).map((p) => p.metadata!.name),
    [...INSTANCES, ADDED],
  );
  assert.equal(await membership(ADDED), 1, `${ADDED} joined once`);

  await scalingResumes("scale-in", 3, "DELETE", async () => {
    const held = (await pods()).find((p) => p.metadata!.name === ADDED);
    assert.equal(held?.metadata?.deletionTimestamp, undefined, "its pod is not deleted yet");
  });
  assert.deepEqual(
    (await pods()).map((p) => p.metadata!.name),
    INSTANCES,
  );
  await waitFor(async () => (await claimOf(ADDED)) === undefined, {
    description: `the volume of ${ADDED} deleted`,
    timeoutMs: 60_000,
  });
  assert.equal(await membership(`-${ADDED}`), 1, `${ADDED} left once`);
  await platform.waitForPhase(ns, CLUSTER, "Running");
});

async function claims(): Promise<V1PersistentVolumeClaim[]> {
  const list = await platform.client.list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
    namespace: ns,
    labelSelector: `${labels.component}=${KV}`,
  });
  return list.items;
}

const podUids = async () => (await pods()).map((p) => p.metadata!.uid!).sort();

/** Each claim's [asked, reported] size. */
const sizes = async () =>
  (await claims()).map((c) => [c.spec?.resources?.requests?.storage, c.status?.capacity?.storage]);

const recordedSize = async () =>
  (await clusterSpec()).volumeClaimTemplates?.[0]?.spec.resources.requests.storage;

/** VolumeExpansion of the data volumes to `size`, killed where `killed` says, then checked whole. */
async function expansionResumes(
  name: string,
  size: string,
  hold: [operations: string[], resource: string, selector: Record<string, string>],
  killed: () => Promise<void>,
): Promise<void> {
  const before = await podUids();
  await holding(...hold, async () => {
    await apply(
      name,
      "VolumeExpansion",
      `  volumeExpansion: [{ componentName: kv, volumeClaimTemplates: [{ name: data, storage: ${size} }] }]\n`,
    );
    await killed();
  });
  await platform.operator.restart();
  const done = await waitForOps(platform.client, ns, name, "Succeed", 120_000);
  assert.equal(await recordedSize(), size);
  assert.deepEqual(
    await sizes(),
    INSTANCES.map(() => [size, size]),
    "every claim asks and reports the size",
  );
  assert.deepEqual(await podUids(), before, "no instance restarted");
  assert.equal(done.status?.progress, "3/3");
  assert.deepEqual(
    done.status?.instances?.map((i) => [i.action, i.phase]),
    INSTANCES.map(() => ["Expand", "Succeed"]),
  );
  await endedOnce(name);
}

test("killed when a VolumeExpansion recorded the size and no claim asked for it yet, every volume grows once it resumes and no instance restarts", async () => {
  await expansionResumes(
    "expand-recorded",
    "2Gi",
    [["UPDATE"], "persistentvolumeclaims", { [labels.component]: KV }],
    async () => {
      await waitFor(async () => (await recordedSize()) === "2Gi", {
        description: "the new size in the Cluster's spec",
        timeoutMs: 60_000,
        intervalMs: 10,
      });
      await platform.operator.kill();
      assert.deepEqual(
        await sizes(),
        INSTANCES.map(() => ["1Gi", "1Gi"]),
        "no claim asked for it yet",
      );
    },
  );
});

test("killed when a VolumeExpansion grew two volumes and the third is not reported yet, it resumes to every volume grown", async () => {
  const last = INSTANCES[2]!;
  await expansionResumes(
    "expand-partial",
    "3Gi",
    [["UPDATE"], "persistentvolumeclaims/status", { [labels.podName]: last }],
    async () => {
      await waitFor(
        async () => {
          const claimed = await claims();
          return (
            claimed.length === 3 &&
            claimed.every((c) =>
              c.metadata!.labels![labels.podName] === last
                ? c.spec?.resources?.requests?.storage === "3Gi"
                : c.status?.capacity?.storage === "3Gi",
            )
          );
        },
        { description: `every claim asking 3Gi, all but ${last}'s reporting it`, timeoutMs: 60_000 },
      );
      await platform.operator.kill();
      assert.equal((await claimOf(last))?.status?.capacity?.storage, "2Gi", `${last} not reported yet`);
    },
  );
});

const exposed = () =>
  platform.client.find<V1Service>({ apiVersion: "v1", kind: "Service", namespace: ns, name: `${KV}-ext` });

/** An Expose of the primary's NodePort Service `ext`, killed as the Cluster records it, the Service held meanwhile. */
async function exposeResumes(
  name: string,
  entry: string,
  operation: string,
  recorded: (services: ExposedService[] | undefined) => boolean,
  whileHeld: () => Promise<void>,
): Promise<OpsRequest> {
  await holding([operation], "services", { [labels.component]: KV }, async () => {
    await apply(name, "Expose", `  expose: [{ componentName: kv, ${entry} }]\n`);
    await waitFor(async () => recorded((await clusterSpec()).services), {
      description: "the change in the Cluster's spec",
      timeoutMs: 60_000,
      intervalMs: 10,
    });
    await platform.operator.kill();
    await whileHeld();
  });
  await platform.operator.restart();
  const done = await waitForOps(platform.client, ns, name, "Succeed", 60_000);
  await endedOnce(name);
  return done;
}

const EXT = { name: "ext", serviceType: "NodePort", roleSelector: "primary" };

test("killed when an Expose recorded the Service on the Cluster and before it was created, it resumes to one NodePort Service", async () => {
  const done = await exposeResumes(
    "expose",
    `switch: Enable, services: [${JSON.stringify(EXT)}]`,
    "CREATE",
    (services) => services !== undefined,
    async () => assert.equal(await exposed(), undefined, "not created yet"),
  );
  const service = await exposed();
  assert.equal(service?.spec?.type, "NodePort");
  assert.equal(service?.spec?.selector?.[labels.role], "primary");
  assert.deepEqual((await clusterSpec()).services, [EXT], "recorded once");
  assert.match(
    done.status!.steps![0]!.message!,
    new RegExp(`NodePort ${service!.spec!.ports![0]!.nodePort}→`),
  );
});

test("killed when an Expose removed the Service from the Cluster and before it was deleted, it resumes to the Service gone", async () => {
  await exposeResumes(
    "unexpose",
    "switch: Disable, services: [{ name: ext }]",
    "DELETE",
    (services) => services === undefined,
    async () => assert.ok(await exposed(), "not deleted yet"),
  );
  assert.equal(await exposed(), undefined, "the Service is gone");
  assert.equal((await clusterSpec()).services, undefined);
});
