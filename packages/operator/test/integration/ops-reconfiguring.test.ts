import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { API_VERSION, labels, type Cluster } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { TestPlatform } from "../../../../test/support/platform.js";
import { KV_ADDON } from "../fixtures/env.js";
import { opsManifest, opsRef, waitForOps, watchDeletions } from "../../../../test/support/ops.js";

// Reconfiguring end to end with the kv test addon: its `greeting` is dynamic
// (each reconfigure call is appended to /data/reconfigured, and a secondary
// refuses a greeting ending in "!"), its `mode` static (an instance does not
// start in strict mode), so both ways the engine can refuse are exercised.

let platform: TestPlatform;
let ns: string;
const CLUSTER = "conf";
const KV = `${CLUSTER}-kv`;
let serial = 0;

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("reconfiguring");
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${CLUSTER}, namespace: ${ns} }
spec:
  clusterDef: kv
  topology: standalone
  terminationPolicy: Delete
  componentSpecs:
    - name: kv
      replicas: 3
      parameters: { greeting: "hello", mode: fast }
      resources: { requests: { cpu: 10m, memory: 16Mi }, limits: { cpu: "1", memory: 128Mi } }
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
`);
  await platform.waitForPhase(ns, CLUSTER, "Running");
});

after(async () => {
  await platform?.stop();
});

function reconfigure(parameters: string): string {
  return `  reconfiguring: [{ componentName: kv, parameters: ${parameters} }]\n`;
}

/** Creates a Reconfiguring and waits for it to reach `phase`. */
async function run(parameters: string, phase: "Succeed" | "Failed" | "Running" = "Succeed") {
  const name = `reconfigure-${++serial}`;
  await platform.apply(opsManifest(ns, name, CLUSTER, "Reconfiguring", reconfigure(parameters)));
  return waitForOps(platform.client, ns, name, phase, 240_000);
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

const pods = () => platform.instances(ns, KV);

async function uids(): Promise<Map<string, string>> {
  return new Map((await pods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
}

async function readFile(pod: string, path: string): Promise<string> {
  const result = await platform.cluster.kubectl(["exec", "-n", ns, pod, "-c", "kv", "--", "cat", path]);
  return result.code === 0 ? result.stdout.trim() : "";
}

/** The last reconfigure call each instance took, by instance. */
async function lastApplied(): Promise<string[]> {
  const instances = [0, 1, 2].map((i) => `${KV}-${i}`);
  return Promise.all(
    instances.map(async (pod) => (await readFile(pod, "/data/reconfigured")).split("\n").at(-1)!),
  );
}

test("a dynamic parameter is applied on every instance by the reconfigure action, without a restart", async () => {
  const before = await uids();
  const done = await run('{ greeting: "good day" }');
  assert.deepEqual(await parameters(), { greeting: "good day", mode: "fast" }, "parameters not named stay");
  assert.deepEqual(
    await lastApplied(),
    [0, 1, 2].map(() => '{"greeting":"good day"}'),
  );
  assert.deepEqual(await uids(), before, "no instance restarted");
  assert.equal(done.status?.progress, "3/3");
  assert.deepEqual(
    done.status?.instances?.map((i) => [i.action, i.phase]),
    [0, 1, 2].map(() => ["Reconfigure", "Succeed"]),
  );
  assert.deepEqual(done.status?.lastConfiguration, {
    kv: { parameters: { greeting: "hello", mode: "fast" } },
  });
});

test("a static parameter rolls the instances, replicas first and the primary last", async () => {
  const watch = watchDeletions(platform.client, ns, KV);
  try {
    await run("{ mode: slow }");
  } finally {
    await watch.stop();
  }
  assert.equal(new Set(watch.deletions.map((d) => d.pod)).size, 3, JSON.stringify(watch.deletions));
  assert.ok(
    watch.deletions.every((d) => d.role !== "primary"),
    `never restarted while primary: ${JSON.stringify(watch.deletions)}`,
  );
  for (const pod of await pods())
    assert.match(await readFile(pod.metadata!.name!, "/etc/kv/kv.conf"), /mode = slow/);
});

test("a dynamic value a secondary refuses after the primary took it: every instance back on the previous value, the op Failed with the engine's message", async () => {
  const before = await uids();
  const failed = await run('{ greeting: "hey!" }', "Failed");
  assert.equal(failed.status?.reason, "EngineRefused");
  assert.match(failed.status?.message ?? "", /a secondary refuses an exclaimed greeting/);
  assert.deepEqual(await parameters(), { greeting: "good day", mode: "slow" });
  const primary = (await pods()).find((p) => p.metadata?.labels?.[labels.role] === "primary")!;
  assert.match(
    await readFile(primary.metadata!.name!, "/data/reconfigured"),
    /"greeting":"hey!"/,
    "the primary had taken the new value",
  );
  assert.deepEqual(
    await lastApplied(),
    [0, 1, 2].map(() => '{"greeting":"good day"}'),
    "every instance was told the previous value",
  );
  assert.deepEqual(await uids(), before, "no instance restarted");
});

test("a static value an instance does not start with: every instance back on the previous configuration, the op Failed", async () => {
  const failed = await run("{ mode: strict }", "Failed");
  assert.equal(failed.status?.reason, "EngineRefused");
  assert.match(failed.status?.message ?? "", /did not come back with the new parameters/);
  assert.deepEqual(await parameters(), { greeting: "good day", mode: "slow" });
  await waitFor(
    async () => (await pods()).length === 3 && (await pods()).every((p) => p.status?.phase === "Running"),
    {
      description: "three running instances",
      timeoutMs: 60_000,
    },
  );
  await configurationFilesBackOnSlow();
  await platform.waitForPhase(ns, CLUSTER, "Running");
});

/** The node refreshes a configuration volume a moment after its ConfigMap changes. */
async function configurationFilesBackOnSlow(): Promise<void> {
  await waitFor(
    async () => {
      for (const pod of await pods())
        if (!/mode = slow/.test(await readFile(pod.metadata!.name!, "/etc/kv/kv.conf"))) return false;
      return true;
    },
    { description: "every instance's configuration file back on mode = slow", timeoutMs: 60_000 },
  );
}

test("cancelled while it rolls the instances, the previous parameters are back on every instance", async () => {
  const watch = watchDeletions(platform.client, ns, KV);
  const name = `reconfigure-${++serial}`;
  try {
    await platform.apply(opsManifest(ns, name, CLUSTER, "Reconfiguring", reconfigure("{ mode: fast }")));
    await waitFor(() => watch.deletions.length > 0, {
      description: "the first instance restarting",
      timeoutMs: 60_000,
    });
    await platform.client.patch(opsRef(ns, name), { spec: { cancel: true } }, "merge");
    const cancelled = await waitForOps(platform.client, ns, name, "Cancelled", 240_000);
    assert.equal(cancelled.status?.reason, "CancelledWhileRunning");
  } finally {
    await watch.stop();
  }
  assert.deepEqual(await parameters(), { greeting: "good day", mode: "slow" });
  await configurationFilesBackOnSlow();
});
