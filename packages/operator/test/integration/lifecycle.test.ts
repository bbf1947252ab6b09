import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1ConfigMap, V1PersistentVolumeClaim, V1Pod } from "@kubernetes/client-node";
import { API_VERSION, labels, type Cluster, type Component } from "@tessera/api";
import { Informer, waitFor } from "@tessera/kube";
import { TestPlatform } from "../../../../test/support/platform.js";
import { KV_ADDON } from "../fixtures/env.js";

// The operator core end to end on a hostlet node, with the kv test addon
// whose "engine" keeps its role in a file: every lifecycle action leaves a
// trace in the instance's volume that the test reads back.

let platform: TestPlatform;
let ns: string;
const CLUSTER = "life";
const KV = `${CLUSTER}-kv`;

function manifest(
  options: { replicas?: number; parameters?: string; storage?: string; stop?: boolean } = {},
): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${CLUSTER}, namespace: ${ns} }
spec:
  clusterDef: kv
  topology: replication
  terminationPolicy: Delete
  componentSpecs:
    - name: watcher
      replicas: 1
      resources: { requests: { cpu: 10m, memory: 16Mi } }
    - name: kv
      replicas: ${options.replicas ?? 3}
      stop: ${options.stop ?? false}
      parameters: { ${options.parameters ?? ""} }
      resources: { requests: { cpu: 10m, memory: 16Mi }, limits: { cpu: "1", memory: 128Mi } }
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: ${options.storage ?? "1Gi"} } } }
`;
}

async function apply(options: Parameters<typeof manifest>[0] = {}) {
  await platform.apply(manifest(options));
}

function component(): Promise<Component> {
  return platform.component(ns, KV);
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

/** Reads a file from an instance's volume through `kubectl exec`. */
async function readFile(pod: string, path: string): Promise<string> {
  const result = await platform.cluster.kubectl(["exec", "-n", ns, pod, "-c", "kv", "--", "cat", path]);
  return result.code === 0 ? result.stdout : "";
}

async function settled() {
  await platform.waitForPhase(ns, CLUSTER, "Running");
}

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("life");
});

after(async () => {
  await platform?.stop();
});

test("provisioning runs the components in order, resolves cross-component vars and runs every run-once action exactly once", async () => {
  await apply();
  await settled();
  const watcher = await platform.client.get<Component>({
    apiVersion: API_VERSION,
    kind: "Component",
    namespace: ns,
    name: `${CLUSTER}-watcher`,
  });
  const kv = await component();
  assert.ok(
    Date.parse(String(watcher.metadata.creationTimestamp)) <=
      Date.parse(String(kv.metadata.creationTimestamp)),
  );
  const env = await platform.client.get<V1ConfigMap>({
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: ns,
    name: `${KV}-env`,
  });
  assert.equal(
    env.data?.KV_WATCHER,
    `${CLUSTER}-watcher-http`,
    "a var resolved from the other component's service",
  );
  const primary = kv.status!.ha!.primary!;
  assert.equal(primary, `${KV}-0`);
  // Running needs the writable instance; the others' labels follow from their next role probe.
  const members = await waitFor(
    async () => {
      const current = await pods();
      const roles = current.map((p) => p.metadata?.labels?.[labels.role]).join();
      return roles === "primary,secondary,secondary" ? current : undefined;
    },
    { description: "role labels primary, secondary, secondary", timeoutMs: 10_000 },
  );
  // Running means every instance is a member: memberJoin ran for each, on the primary.
  assert.equal(
    (await readFile(primary, "/data/members")).trim().split("\n").sort().join(),
    members.map((p) => p.metadata!.name!).join(),
  );
  // Each ran once, in the writable instance (the appended files would show a second run).
  assert.equal((await readFile(primary, "/data/post-provision")).trim(), "provisioned");
  assert.equal(
    (await readFile(primary, "/data/accounts")).trim(),
    "app:24",
    "accountProvision got the account and its password",
  );
  assert.deepEqual(kv.status?.completedActions, ["accountProvision:app", "postProvision", "provisioned"]);
});

test("a dynamic parameter is applied in place by reconfigure: no restart, every instance told", async () => {
  const before = new Map((await pods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
  await apply({ parameters: 'greeting: "hey"' });
  await waitFor(
    async () => {
      const traces = await Promise.all([...before.keys()].map((pod) => readFile(pod, "/data/reconfigured")));
      return traces.every((t) => t.includes('{"greeting":"hey"}'));
    },
    { description: "reconfigure on every instance", timeoutMs: 60_000 },
  );
  await waitFor(async () => (await readFile(`${KV}-1`, "/etc/kv/kv.conf")).includes("greeting = hey"), {
    description: "the rendered config to reach the instances",
    timeoutMs: 60_000,
  });
  const after = new Map((await pods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
  assert.deepEqual(after, before, "no instance was restarted");
});

test("killed during a rolling update, the operator finishes it: secondaries first, switchover, the old primary last", async () => {
  const oldPrimary = (await component()).status!.ha!.primary!;
  const deletions: { pod: string; role?: string }[] = [];
  const informer = new Informer<V1Pod>(platform.client, {
    apiVersion: "v1",
    kind: "Pod",
    namespace: ns,
    labelSelector: `${labels.component}=${KV}`,
  });
  informer.addHandlers({
    update: (before, after) => {
      if (!before.metadata?.deletionTimestamp && after.metadata?.deletionTimestamp) {
        deletions.push({ pod: after.metadata.name!, role: before.metadata?.labels?.[labels.role] });
      }
    },
  });
  informer.start();
  try {
    await apply({ parameters: 'greeting: "hey", mode: "slow"' });
    await waitFor(() => deletions.length > 0, {
      description: "the first instance replaced",
      timeoutMs: 60_000,
    });
    await platform.operator.kill();
    await platform.operator.restart();
    await waitFor(() => deletions.length >= 3, {
      description: "every instance replaced",
      timeoutMs: 120_000,
    });
    await settled();
  } finally {
    await informer.stop();
  }
  assert.deepEqual(new Set(deletions.map((d) => d.pod)).size, 3, JSON.stringify(deletions));
  assert.equal(deletions.at(-1)?.pod, oldPrimary, "the primary goes last");
  assert.ok(
    deletions.every((d) => d.role !== "primary"),
    `never replaced while primary: ${JSON.stringify(deletions)}`,
  );
  const ha = (await component()).status!.ha!;
  assert.notEqual(ha.primary, oldPrimary, "the primary was switched over");
  for (const pod of await pods()) {
    assert.match(await readFile(pod.metadata!.name!, "/etc/kv/kv.conf"), /mode = slow/);
  }
});

test("when the primary's processes die, a replica is promoted with a new epoch and the old primary is demoted", async () => {
  const before = (await component()).status!.ha!;
  const faults = await platform.hostlet.faults();
  await faults.killContainer(ns, before.primary!, "kv");
  await waitFor(async () => (await component()).status?.ha?.primary !== before.primary, {
    description: "failover",
    timeoutMs: 60_000,
  });
  const ha = (await component()).status!.ha!;
  assert.equal(ha.epoch, before.epoch + 1);
  assert.equal(ha.lastFailover?.from, before.primary);
  await waitFor(async () => (await readFile(before.primary!, "/data/role")).trim() === "secondary", {
    description: "the old primary demoted",
    timeoutMs: 60_000,
  });
  await waitFor(
    async () => {
      const roles = (await pods()).map((p) => [p.metadata!.name!, p.metadata?.labels?.[labels.role]]);
      return (
        roles.filter(([, r]) => r === "primary").length === 1 &&
        roles.find(([n]) => n === ha.primary)?.[1] === "primary"
      );
    },
    { description: "exactly one primary label, on the new primary", timeoutMs: 30_000 },
  );
});

test("scale-in runs memberLeave on the primary before removing the instance and its volume", async () => {
  await apply({ replicas: 2, parameters: 'greeting: "hey", mode: "slow"' });
  await settled();
  const primary = (await component()).status!.ha!.primary!;
  const left = await readFile(primary, "/data/members");
  const remaining = (await pods()).map((p) => p.metadata!.name!);
  assert.equal(remaining.length, 2);
  const removed = [`${KV}-0`, `${KV}-1`, `${KV}-2`].find((p) => !remaining.includes(p))!;
  assert.match(left, new RegExp(`^-${removed}$`, "m"));
  await waitFor(
    async () => {
      const claims = await platform.client.list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
        namespace: ns,
        labelSelector: `${labels.component}=${KV}`,
      });
      const names = claims.items.filter((c) => !c.metadata?.deletionTimestamp).map((c) => c.metadata!.name!);
      return names.sort().join() === remaining.map((p) => `data-${p}`).join();
    },
    { description: `the volume of ${removed} to be deleted`, timeoutMs: 30_000 },
  );
});

test("volumes expand online when the storage class allows it", async () => {
  await apply({ replicas: 2, parameters: 'greeting: "hey", mode: "slow"', storage: "2Gi" });
  await waitFor(
    async () => {
      const claims = await platform.client.list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
        namespace: ns,
        labelSelector: `${labels.component}=${KV}`,
      });
      return claims.items.length === 2 && claims.items.every((c) => c.status?.capacity?.storage === "2Gi");
    },
    { description: "both claims expanded to 2Gi", timeoutMs: 60_000 },
  );
});

test("stop removes the instances but keeps their volumes; start brings them back with their data", async () => {
  const primary = (await component()).status!.ha!.primary!;
  await apply({ replicas: 2, parameters: 'greeting: "hey", mode: "slow"', storage: "2Gi", stop: true });
  await waitFor(async () => (await component()).status?.phase === "Stopped", {
    description: "the kv component to stop",
    timeoutMs: 60_000,
  });
  const cluster = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: CLUSTER,
  });
  assert.equal(
    cluster.status?.phase,
    "Stopping",
    "one component stopped, the other running: the cluster is partly stopped",
  );
  assert.deepEqual(await pods(), []);
  const claims = await platform.client.list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
    namespace: ns,
    labelSelector: `${labels.component}=${KV}`,
  });
  assert.equal(claims.items.length, 2, "volumes are kept while stopped");
  await apply({ replicas: 2, parameters: 'greeting: "hey", mode: "slow"', storage: "2Gi", stop: false });
  await settled();
  assert.equal(
    (await readFile(primary, "/data/role")).trim(),
    "primary",
    "the data (and so the role) survived the stop",
  );
});
