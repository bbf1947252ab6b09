import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1Secret } from "@kubernetes/client-node";
import { API_VERSION, labels, type InstanceSet } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import type { TestPlatform } from "../../../../test/support/platform.js";
import { kvCluster, startOperatorEnv } from "../fixtures/env.js";

let env: TestPlatform;

before(async () => {
  env = await startOperatorEnv();
});

after(async () => {
  await env?.stop();
});

async function names(kind: string, apiVersion: string, ns: string, cluster: string): Promise<string[]> {
  const list = await env.client.list(apiVersion, kind, {
    namespace: ns,
    labelSelector: `${labels.cluster}=${cluster}`,
  });
  return list.items
    .filter((i) => !i.metadata?.deletionTimestamp)
    .map((i) => i.metadata!.name!)
    .sort();
}

/** Everything the operator owns for a cluster with the given instances, exactly once and nothing more. */
async function assertConverged(ns: string, cluster: string, instances: string[]) {
  const component = `${cluster}-kv`;
  await waitFor(
    async () => {
      const set = await env.client.find<InstanceSet>({
        apiVersion: API_VERSION,
        kind: "InstanceSet",
        namespace: ns,
        name: component,
      });
      const pods = await names("Pod", "v1", ns, cluster);
      const claims = await names("PersistentVolumeClaim", "v1", ns, cluster);
      return (
        set?.status?.observedGeneration === set?.metadata.generation &&
        set?.status?.replicas === instances.length &&
        pods.join() === instances.join() &&
        claims.join() === instances.map((i) => `data-${i}`).join()
      );
    },
    { description: `${cluster} to converge to ${instances.join(", ")}`, timeoutMs: 60_000 },
  );
  assert.deepEqual(await names("Component", API_VERSION, ns, cluster), [component]);
  assert.deepEqual(await names("InstanceSet", API_VERSION, ns, cluster), [component]);
  assert.deepEqual(await names("Service", "v1", ns, cluster), [
    `${component}-headless`,
    `${component}-ro`,
    `${component}-rw`,
  ]);
  assert.deepEqual(await names("ConfigMap", "v1", ns, cluster), [
    `${component}-config`,
    `${component}-env`,
    `${component}-scripts`,
  ]);
  assert.deepEqual(await names("Secret", "v1", ns, cluster), [
    `${component}-account-admin`,
    `${component}-account-app`,
    `${component}-agent`,
  ]);
}

async function password(ns: string, secret: string): Promise<string | undefined> {
  const found = await env.client.find<V1Secret>({
    apiVersion: "v1",
    kind: "Secret",
    namespace: ns,
    name: secret,
  });
  return found?.data?.password;
}

/** Kills the operator the moment `point` becomes true, then starts a fresh one. */
async function crashWhen(description: string, point: () => Promise<boolean>) {
  await waitFor(point, { description, timeoutMs: 30_000, intervalMs: 10 });
  await env.operator.kill();
  await env.operator.restart();
}

const killPoints: [string, (ns: string, cluster: string) => Promise<boolean>][] = [
  ["the component exists", async (ns, c) => (await names("Component", API_VERSION, ns, c)).length > 0],
  ["the account secrets exist", async (ns, c) => (await names("Secret", "v1", ns, c)).length > 0],
  ["the instance set exists", async (ns, c) => (await names("InstanceSet", API_VERSION, ns, c)).length > 0],
  ["the first pod exists", async (ns, c) => (await names("Pod", "v1", ns, c)).length > 0],
];

for (const [point, reached] of killPoints) {
  test(`killed when ${point} during create, scale-out and scale-in, the operator converges without duplicates or orphans`, async () => {
    const ns = await env.cluster.createNamespace();
    const cluster = "crash";
    await env.apply(kvCluster(ns, cluster, { replicas: 3 }));
    await crashWhen(point, () => reached(ns, cluster));
    await assertConverged(ns, cluster, ["crash-kv-0", "crash-kv-1", "crash-kv-2"]);
    const adminPassword = await password(ns, "crash-kv-account-admin");
    assert.ok(adminPassword);

    await env.apply(kvCluster(ns, cluster, { replicas: 5 }));
    await crashWhen("a scale-out pod exists", async () => (await names("Pod", "v1", ns, cluster)).length > 3);
    await assertConverged(ns, cluster, [
      "crash-kv-0",
      "crash-kv-1",
      "crash-kv-2",
      "crash-kv-3",
      "crash-kv-4",
    ]);

    await env.apply(kvCluster(ns, cluster, { replicas: 2 }));
    await crashWhen("scale-in started", async () => (await names("Pod", "v1", ns, cluster)).length < 5);
    await assertConverged(ns, cluster, ["crash-kv-0", "crash-kv-1"]);
    assert.equal(
      await password(ns, "crash-kv-account-admin"),
      adminPassword,
      "a generated password is never regenerated",
    );
  });
}
