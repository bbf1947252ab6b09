import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { API_VERSION, annotations, labels, type Cluster } from "@tessera/api";
import { hasFinalizer, waitFor } from "@tessera/kube";
import type { TestPlatform } from "../../../../test/support/platform.js";
import { kvCluster, setTerminationPolicy, startOperatorEnv } from "../fixtures/env.js";

// Deleting clusters while the operator process is stopped: the apiserver and
// the controller-manager's garbage collector must do everything a policy that
// allows deletion asks for, and DoNotTerminate must still hold.

let env: TestPlatform;

before(async () => {
  env = await startOperatorEnv();
});

after(async () => {
  await env?.stop();
});

const OWNED: [kind: string, apiVersion: string][] = [
  ["Component", API_VERSION],
  ["InstanceSet", API_VERSION],
  ["Pod", "v1"],
  ["Service", "v1"],
  ["ConfigMap", "v1"],
  ["Secret", "v1"],
];

async function names(kind: string, apiVersion: string, ns: string, cluster: string): Promise<string[]> {
  const list = await env.client.list(apiVersion, kind, {
    namespace: ns,
    labelSelector: `${labels.cluster}=${cluster}`,
  });
  return list.items.map((i) => i.metadata!.name!).sort();
}

function claims(ns: string, cluster: string): Promise<V1PersistentVolumeClaim[]> {
  return env.client
    .list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
      namespace: ns,
      labelSelector: `${labels.cluster}=${cluster}`,
    })
    .then((list) => list.items);
}

function findCluster(ns: string, name: string): Promise<Cluster | undefined> {
  return env.client.find<Cluster>({ apiVersion: API_VERSION, kind: "Cluster", namespace: ns, name });
}

/** Creates a cluster and waits until its claims exist and record its UID and policy. */
async function created(ns: string, name: string, policy: string): Promise<Cluster> {
  await env.apply(kvCluster(ns, name, { replicas: 2, policy }));
  const cluster = (await findCluster(ns, name))!;
  await waitFor(
    async () => {
      const found = await claims(ns, name);
      return (
        found.length === 2 &&
        found.every(
          (c) =>
            c.metadata?.annotations?.[annotations.clusterUID] === cluster.metadata.uid &&
            c.metadata?.annotations?.[annotations.terminationPolicy] === policy,
        )
      );
    },
    { description: `the volumes of ${name} to record its ${policy} policy`, timeoutMs: 60_000 },
  );
  return cluster;
}

async function allGone(ns: string, name: string, kinds: [string, string][]): Promise<void> {
  for (const [kind, apiVersion] of kinds) {
    await waitFor(async () => (await names(kind, apiVersion, ns, name)).length === 0, {
      description: `the ${kind}s of ${name} to be removed`,
      timeoutMs: 120_000,
      intervalMs: 250,
    });
  }
}

async function withOperatorStopped(body: () => Promise<void>): Promise<void> {
  await env.operator.stop();
  try {
    await body();
  } finally {
    await env.operator.restart();
  }
}

test("with the operator stopped, a Delete cluster is deleted at once, what it owns goes by garbage collection and its volumes go when the operator is back", async () => {
  const ns = await env.cluster.createNamespace();
  await created(ns, "gone", "Delete");
  const survivor = await created(ns, "stays", "Delete");
  await withOperatorStopped(async () => {
    const deleted = await env.cluster.kubectl(["delete", "cluster", "gone", "-n", ns, "--timeout=60s"]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(await findCluster(ns, "gone"), undefined);
    await allGone(ns, "gone", OWNED);
    assert.equal(
      (await claims(ns, "gone")).length,
      2,
      "Delete volumes have no owner: they wait for the operator",
    );
  });
  await waitFor(async () => (await claims(ns, "gone")).length === 0, {
    description: "the volumes of the deleted cluster to go once the operator is back",
    timeoutMs: 60_000,
  });
  assert.equal((await claims(ns, "stays")).length, 2, "another cluster's volumes stay");
  assert.equal((await findCluster(ns, "stays"))?.metadata.uid, survivor.metadata.uid);
});

test("a WipeOut cluster goes with its volumes by garbage collection alone, the operator stopped throughout", async () => {
  const ns = await env.cluster.createNamespace();
  const cluster = await created(ns, "wipe", "WipeOut");
  // Claims may carry the policy record from their creation; the owner reference is added after.
  await waitFor(
    async () =>
      (await claims(ns, "wipe")).every(
        (claim) =>
          JSON.stringify(claim.metadata?.ownerReferences?.map((o) => [o.kind, o.uid])) ===
          JSON.stringify([["Cluster", cluster.metadata.uid]]),
      ),
    { description: "the cluster to own each of its WipeOut volumes, and nothing else to", timeoutMs: 60_000 },
  );
  await withOperatorStopped(async () => {
    const deleted = await env.cluster.kubectl(["delete", "cluster", "wipe", "-n", ns, "--timeout=60s"]);
    assert.equal(deleted.code, 0, deleted.stderr);
    await allGone(ns, "wipe", [...OWNED, ["PersistentVolumeClaim", "v1"]]);
  });
});

test("a DoNotTerminate cluster holds through its finalizer with the operator stopped, and goes once its policy allows", async () => {
  const ns = await env.cluster.createNamespace();
  await created(ns, "keep", "DoNotTerminate");
  await waitFor(async () => hasFinalizer((await findCluster(ns, "keep"))!, "tessera.dev/cluster"), {
    description: "the DoNotTerminate finalizer",
    timeoutMs: 30_000,
  });
  await withOperatorStopped(async () => {
    const deleted = await env.cluster.kubectl(["delete", "cluster", "keep", "-n", ns, "--wait=false"]);
    assert.equal(deleted.code, 0, deleted.stderr);
    const held = await findCluster(ns, "keep");
    assert.ok(held?.metadata.deletionTimestamp, "the deletion is recorded");
    assert.deepEqual(await names("Component", API_VERSION, ns, "keep"), ["keep-kv"]);
    assert.equal((await claims(ns, "keep")).length, 2);
  });
  await waitFor(
    async () =>
      (await findCluster(ns, "keep"))?.status?.conditions?.some(
        (c) =>
          c.reason === "DeletionBlocked" && /set spec\.terminationPolicy to Delete/.test(c.message ?? ""),
      ),
    { description: "the cluster to say why it is kept", timeoutMs: 30_000 },
  );
  assert.equal((await claims(ns, "keep")).length, 2, "nothing was deleted");
  await setTerminationPolicy(env, ns, "keep", "Delete");
  await allGone(ns, "keep", [...OWNED, ["PersistentVolumeClaim", "v1"]]);
  assert.equal(await findCluster(ns, "keep"), undefined);
});
