import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { labels } from "@tessera/api";
import { TestPlatform } from "../../../../test/support/platform.js";
import { KV_ADDON } from "../fixtures/env.js";
import { opsManifest, waitForOps } from "../../../../test/support/ops.js";

// Custom operations (declared by the kv test addon) on a hostlet node, checked
// against what the instances' files show: parameters reach the script as
// variables and nothing else. One three-instance cluster serves every case.

let platform: TestPlatform;
let ns: string;
const CLUSTER = "ops-extra";
const KV = `${CLUSTER}-kv`;
let serial = 0;

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("ops-extra");
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${CLUSTER}, namespace: ${ns} }
spec:
  clusterDef: kv
  topology: standalone
  terminationPolicy: Delete
  componentSpecs:
    - name: kv
      serviceVersion: "1.0"
      replicas: 3
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
`);
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

async function pods(): Promise<V1Pod[]> {
  const list = await platform.client.list<V1Pod>("v1", "Pod", {
    namespace: ns,
    labelSelector: `${labels.component}=${KV}`,
  });
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
}

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
