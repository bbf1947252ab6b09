import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { API_VERSION, labels, type Cluster } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { TestPlatform } from "../../../../test/support/platform.js";
import { KV_ADDON, kvCluster } from "../fixtures/env.js";
import { getOps, opsManifest, opsRef, waitForOps, watchDeletions } from "../../../../test/support/ops.js";

// Custom operations and Upgrades with the kv test addon on a hostlet node,
// checked against what the instances show: parameters reach the script as
// variables and nothing else; an upgrade replaces each instance with the new
// release's image, the primary last. One three-instance cluster, created on
// version 1.0, serves every case in order.

let platform: TestPlatform;
let ns: string;
const CLUSTER = "ops-extra";
const KV = `${CLUSTER}-kv`;
let serial = 0;

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("ops-extra");
  await platform.apply(kvCluster(ns, CLUSTER, { extra: '      serviceVersion: "1.0"\n' }));
  await platform.waitForPhase(ns, CLUSTER, "Running");
});

after(async () => {
  await platform?.stop();
});

/** Creates an operation on the cluster and waits for it to reach `phase`. */
async function run(type: string, section: Record<string, unknown>, phase: "Succeed" | "Failed" = "Succeed") {
  const name = `${type.toLowerCase()}-${++serial}`;
  // YAML takes JSON: values with quotes and shell syntax need no escaping of their own.
  const body = Object.entries(section)
    .map(([key, value]) => `  ${key}: ${JSON.stringify(value)}\n`)
    .join("");
  await platform.apply(opsManifest(ns, name, CLUSTER, type, body));
  return waitForOps(platform.client, ns, name, phase, 240_000);
}

const pods = () => platform.instances(ns, KV);

async function readFile(pod: string, path: string): Promise<string | undefined> {
  const result = await platform.cluster.kubectl(["exec", "-n", ns, pod, "-c", "kv", "--", "cat", path]);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

const primaryOf = (all: V1Pod[]) => all.find((p) => p.metadata?.labels?.[labels.role] === "primary");

test("a custom operation runs its action with its parameters on every instance, the primary last, each one's output in the progress", async () => {
  const primary = primaryOf(await pods())!.metadata!.name!;
  // Shell syntax in a value stays text: it is never evaluated on its way to the script.
  const text = `it's $(touch /data/pwned) "quoted"; \`id\` & more`;
  const done = await run("Custom", {
    custom: {
      componentName: "kv",
      opsName: "note",
      parameters: { text, times: "2", shout: "false", level: "warn" },
    },
  });
  const name = done.metadata.name!;
  assert.equal(done.status?.progress, "3/3");
  const instances = done.status!.instances!;
  assert.deepEqual(
    instances.map((i) => [i.action, i.phase]),
    [0, 1, 2].map(() => ["Custom", "Succeed"]),
  );
  assert.equal(instances.at(-1)!.name, primary, "the primary is the last target");
  assert.deepEqual(done.status?.steps?.[0]?.completed, done.status?.steps?.[0]?.targets);
  for (const instance of instances) {
    assert.equal(instance.message, `noted on ${instance.name} by ${name}`);
    assert.equal(await readFile(instance.name, "/data/notes"), `warn ${text}\nwarn ${text}`);
    assert.equal(await readFile(instance.name, "/data/pwned"), undefined, "nothing was evaluated");
  }
});

test("a custom operation whose script exits non-zero Fails with the script's stderr", async () => {
  const failed = await run("Custom", { custom: { componentName: "kv", opsName: "full" } }, "Failed");
  assert.equal(failed.status?.reason, "ActionFailed");
  const primary = primaryOf(await pods())!.metadata!.name!;
  assert.equal(failed.status?.message, `full failed on ${primary}: kv: the note store is full`);
  assert.deepEqual(
    failed.status?.instances?.map((i) => [i.name, i.phase, i.message]),
    [[primary, "Failed", "kv: the note store is full"]],
  );
});

/** The image each instance's database container runs, by pod name. */
async function images(): Promise<Record<string, string>> {
  return Object.fromEntries((await pods()).map((p) => [p.metadata!.name!, p.spec!.containers[0]!.image!]));
}

async function serviceVersion(): Promise<string | undefined> {
  const cluster = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: CLUSTER,
  });
  return cluster.spec.componentSpecs[0]!.serviceVersion;
}

const everyInstanceOn = (image: string) => Object.fromEntries([0, 1, 2].map((i) => [`${KV}-${i}`, image]));

test("a Running Upgrade cancelled puts the previous version back on every instance", async () => {
  const node = (await platform.client.list<V1Node>("v1", "Node")).items[0]!.metadata!.name!;
  // With the node cordoned, the first instance replaced cannot come back: the upgrade stays Running.
  await platform.cluster.kubectl(["cordon", node]);
  try {
    const name = `upgrade-${++serial}`;
    await platform.apply(
      opsManifest(
        ns,
        name,
        CLUSTER,
        "Upgrade",
        '  upgrade: [{ componentName: kv, serviceVersion: "1.1" }]\n',
      ),
    );
    await waitFor(
      async () =>
        (await getOps(platform.client, ns, name)).status?.instances?.some((i) =>
          /Unschedulable/.test(i.message ?? ""),
        ),
      { description: "an instance of the new version that cannot be scheduled", timeoutMs: 120_000 },
    );
    await platform.client.patch(opsRef(ns, name), { spec: { cancel: true } }, "merge");
    await waitFor(async () => (await serviceVersion()) === "1.0", {
      description: "the previous serviceVersion back on the Cluster",
      timeoutMs: 30_000,
    });
    await platform.cluster.kubectl(["uncordon", node]);
    const cancelled = await waitForOps(platform.client, ns, name, "Cancelled", 240_000);
    assert.equal(cancelled.status?.reason, "CancelledWhileRunning");
    assert.deepEqual(cancelled.status?.lastConfiguration, { kv: { serviceVersion: "1.0" } });
  } finally {
    await platform.cluster.kubectl(["uncordon", node]);
  }
  await platform.waitForPhase(ns, CLUSTER, "Running");
  assert.deepEqual(await images(), everyInstanceOn("busybox:1.0"));
});

test("an Upgrade to a version the ComponentVersion allows replaces every instance, replicas first, the primary last after a switchover, and keeps the data", async () => {
  const oldPrimary = primaryOf(await pods())!.metadata!.name!;
  const notes = await readFile(oldPrimary, "/data/notes");
  const watch = watchDeletions(platform.client, ns, KV);
  let done;
  try {
    done = await run("Upgrade", { upgrade: [{ componentName: "kv", serviceVersion: "1.1" }] });
  } finally {
    await watch.stop();
  }
  assert.equal(await serviceVersion(), "1.1");
  assert.deepEqual(await images(), everyInstanceOn("busybox:1.1"));
  const order = watch.deletions.map((d) => d.pod);
  assert.equal(new Set(order).size, 3, `each instance replaced once: ${JSON.stringify(watch.deletions)}`);
  assert.equal(order.at(-1), oldPrimary, "the primary is replaced last");
  assert.ok(
    watch.deletions.every((d) => d.role !== "primary"),
    `never replaced while primary: ${JSON.stringify(watch.deletions)}`,
  );
  assert.equal(done.status?.progress, "3/3");
  assert.deepEqual(
    done.status?.instances?.map((i) => [i.action, i.phase]),
    [0, 1, 2].map(() => ["Upgrade", "Succeed"]),
  );
  assert.equal(done.status?.steps?.[0]?.message, "kv upgraded to kv-1 1.1");
  assert.equal(await readFile(oldPrimary, "/data/notes"), notes, "the volumes are kept");
});

test("an Upgrade the ComponentVersion does not allow (a downgrade) or to a version it does not offer is refused at apply time", async () => {
  const refusal = async (version: string) => {
    const result = await platform.cluster.kubectl(["apply", "-f", "-"], {
      input: opsManifest(
        ns,
        `refused-${version.replace(".", "-")}`,
        CLUSTER,
        "Upgrade",
        `  upgrade: [{ componentName: kv, serviceVersion: "${version}" }]\n`,
      ),
    });
    assert.notEqual(result.code, 0, `an Upgrade to ${version} is refused`);
    return result.stderr;
  };
  assert.match(
    await refusal("1.0"),
    /spec\.upgrade\[0\]\.serviceVersion: the ComponentVersion does not let kv upgrade from 1\.1 to 1\.0 \(release "kv-1\.0" does not list "kv-1\.1" in upgradeFrom\); versions it can upgrade to: \(none\)/,
  );
  assert.match(
    await refusal("9.9"),
    /spec\.upgrade\[0\]\.serviceVersion: "9\.9" is not offered for ComponentDefinition "kv-1"; offered: "1\.1", "1\.0"/,
  );
  assert.equal(await serviceVersion(), "1.1");
});
