import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type {
  V1ConfigMap,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
  V1Service,
} from "@kubernetes/client-node";
import { API_VERSION, labels, type InstanceSet } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import type { TestPlatform } from "../../../../test/support/platform.js";
import { kvCluster, setTerminationPolicy, startOperatorEnv } from "../fixtures/env.js";

let env: TestPlatform;

before(async () => {
  env = await startOperatorEnv();
});

after(async () => {
  await env?.stop();
});

const selector = (cluster: string) => `${labels.cluster}=${cluster}`;

async function listNames(
  kind: string,
  apiVersion: string,
  namespace: string,
  cluster: string,
): Promise<string[]> {
  const list = await env.client.list(apiVersion, kind, { namespace, labelSelector: selector(cluster) });
  return list.items.map((i) => i.metadata!.name!).sort();
}

test("invalid clusters are rejected at apply time with the field and the allowed values, and nothing is created", async () => {
  const ns = await env.cluster.createNamespace();
  const cases: [string, RegExp][] = [
    [
      kvCluster(ns, "bad-topology", { topology: "ring" }),
      /spec\.topology: "ring" is not a topology of ClusterDefinition "kv"; allowed: "replication", "standalone"/,
    ],
    [
      kvCluster(ns, "too-many", { replicas: 9 }),
      /spec\.componentSpecs\[0\]\.replicas: 9 is outside 1\.\.7 allowed by ComponentDefinition "kv-1"/,
    ],
    [
      kvCluster(ns, "bad-version").replace("replicas: 3", 'replicas: 3\n      serviceVersion: "9.9"'),
      /spec\.componentSpecs\[0\]\.serviceVersion: "9\.9" is not offered for ComponentDefinition "kv-1"; offered: "1\.1", "1\.0"/,
    ],
    [
      kvCluster(ns, "bad-def").replace("clusterDef: kv", "clusterDef: nosql"),
      /spec\.clusterDef: ClusterDefinition "nosql" not found; installed: "kv"/,
    ],
  ];
  for (const [manifest, message] of cases) {
    const result = await env.cluster.kubectl(["apply", "-f", "-"], { input: manifest });
    assert.notEqual(result.code, 0, `kubectl apply must fail for ${message}`);
    assert.match(result.stderr, message);
  }
  const clusters = await env.client.list(API_VERSION, "Cluster", { namespace: ns });
  assert.deepEqual(clusters.items, [], "a rejected cluster leaves nothing behind");
});

test("a cluster becomes a component, an instance set, pods, volumes, services, accounts and rendered config", async () => {
  const ns = await env.cluster.createNamespace();
  await env.apply(kvCluster(ns, "c1"));
  await waitFor(async () => (await listNames("Pod", "v1", ns, "c1")).length === 3, {
    description: "3 pods",
    timeoutMs: 30_000,
  });
  assert.deepEqual(await listNames("Component", API_VERSION, ns, "c1"), ["c1-kv"]);
  assert.deepEqual(await listNames("InstanceSet", API_VERSION, ns, "c1"), ["c1-kv"]);
  assert.deepEqual(await listNames("Pod", "v1", ns, "c1"), ["c1-kv-0", "c1-kv-1", "c1-kv-2"]);
  await waitFor(async () => (await listNames("PersistentVolumeClaim", "v1", ns, "c1")).length === 3, {
    description: "3 PVCs",
    timeoutMs: 10_000,
  });
  assert.deepEqual(await listNames("Service", "v1", ns, "c1"), ["c1-kv-headless", "c1-kv-ro", "c1-kv-rw"]);
  const rw = await env.client.get<V1Service>({
    apiVersion: "v1",
    kind: "Service",
    namespace: ns,
    name: "c1-kv-rw",
  });
  assert.equal(rw.spec?.selector?.[labels.role], "primary", "the rw service selects the writable role");
  const secrets = await listNames("Secret", "v1", ns, "c1");
  assert.deepEqual(
    secrets,
    ["c1-kv-account-admin", "c1-kv-account-app", "c1-kv-agent"],
    "accounts and the agent's token",
  );
  const admin = await env.client.get<V1Secret>({
    apiVersion: "v1",
    kind: "Secret",
    namespace: ns,
    name: "c1-kv-account-admin",
  });
  assert.equal(Buffer.from(admin.data!.password!, "base64").length, 24);
  const config = await env.client.get<V1ConfigMap>({
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: ns,
    name: "c1-kv-config",
  });
  assert.match(config.data!["kv.conf"]!, /replicas = 3/);
  assert.match(config.data!["kv.conf"]!, /cache_bytes = 67108864/, "sizing derived from the memory limit");
  const envMap = await env.client.get<V1ConfigMap>({
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: ns,
    name: "c1-kv-env",
  });
  assert.equal(envMap.data?.KV_GREETING, "hello from c1");
  assert.equal(envMap.data?.KV_WATCHER, "", "an optional var without a source resolves empty");
  const pod = await env.client.get<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "c1-kv-0" });
  const container = pod.spec!.containers[0]!;
  assert.deepEqual(container.resources?.limits, { cpu: "500m", memory: "256Mi" });
  const password = container.env?.find((e) => e.name === "KV_ADMIN_PASSWORD");
  assert.deepEqual(
    password?.valueFrom?.secretKeyRef,
    { name: "c1-kv-account-admin", key: "password" },
    "credentials stay in Secrets",
  );
  assert.equal(pod.spec?.hostname, "c1-kv-0");
  assert.equal(pod.spec?.subdomain, "c1-kv-headless");
  const printed = await env.cluster.kubectl(["get", "clusters", "-n", ns]);
  assert.match(printed.stdout, /NAME\s+ENGINE\s+TOPOLOGY\s+TERMINATION-POLICY\s+STATUS\s+AGE/);
  assert.match(printed.stdout, /c1\s+kv\s+standalone\s+Delete\s+Creating/);
});

test("offlineInstances removes exactly the chosen instance and its volume", async () => {
  const ns = await env.cluster.createNamespace();
  await env.apply(kvCluster(ns, "c2"));
  await waitFor(async () => (await listNames("PersistentVolumeClaim", "v1", ns, "c2")).length === 3, {
    description: "3 PVCs",
    timeoutMs: 30_000,
  });
  await env.apply(
    kvCluster(ns, "c2", { replicas: 2 }).replace(
      "replicas: 2",
      "replicas: 2\n      offlineInstances: [c2-kv-1]",
    ),
  );
  await waitFor(async () => (await listNames("Pod", "v1", ns, "c2")).join() === "c2-kv-0,c2-kv-2", {
    description: "c2-kv-1 removed",
    timeoutMs: 30_000,
  });
  await waitFor(
    async () =>
      (await listNames("PersistentVolumeClaim", "v1", ns, "c2")).join() === "data-c2-kv-0,data-c2-kv-2",
    { description: "the PVC of c2-kv-1 removed", timeoutMs: 30_000 },
  );
  const set = await env.client.get<InstanceSet>({
    apiVersion: API_VERSION,
    kind: "InstanceSet",
    namespace: ns,
    name: "c2-kv",
  });
  assert.deepEqual(
    set.status?.instances?.map((i) => i.name),
    ["c2-kv-0", "c2-kv-2"],
  );
});

test("an instance's pod is created once its claims of an Immediate-binding class are bound", async () => {
  const ns = await env.cluster.createNamespace();
  const storageClass = `bind-now-${ns}`;
  const volume = `pv-${ns}`;
  await env.client.create({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: storageClass },
    // Nothing provisions for this class: the test binds the claim by hand.
    provisioner: "example.com/nobody",
    volumeBindingMode: "Immediate",
  });
  try {
    await env.apply(
      kvCluster(ns, "imm", { replicas: 1 }).replace(
        "storageClassName: tessera-local",
        `storageClassName: ${storageClass}`,
      ),
    );
    const message = async () =>
      (
        await env.client.find<InstanceSet>({
          apiVersion: API_VERSION,
          kind: "InstanceSet",
          namespace: ns,
          name: "imm-kv",
        })
      )?.status?.conditions?.find((c) => c.type === "Ready")?.message;
    await waitFor(async () => (await message()) === "waiting for claim(s) data-imm-kv-0 to bind", {
      description: "the instance set to wait for the claim",
      timeoutMs: 30_000,
    });
    assert.deepEqual(await listNames("Pod", "v1", ns, "imm"), [], "no pod before its claim is bound");

    const claim = await env.client.get<V1PersistentVolumeClaim>({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      namespace: ns,
      name: "data-imm-kv-0",
    });
    await env.client.create({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: volume },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        storageClassName: storageClass,
        persistentVolumeReclaimPolicy: "Retain",
        hostPath: { path: `/tmp/${volume}` },
        claimRef: { namespace: ns, name: "data-imm-kv-0", uid: claim.metadata!.uid },
      },
    });
    await waitFor(async () => (await listNames("Pod", "v1", ns, "imm")).join() === "imm-kv-0", {
      description: "the pod, once the claim is bound",
      timeoutMs: 30_000,
    });
  } finally {
    await env.cluster.kubectl(["delete", "cluster", "imm", "-n", ns, "--wait=false"]);
    await env.client
      .delete({ apiVersion: "v1", kind: "PersistentVolume", name: volume })
      .catch(() => undefined);
    await env.client.delete({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", name: storageClass });
  }
});

test("a DoNotTerminate cluster cannot be deleted; with Delete everything but nothing else goes", async () => {
  const ns = await env.cluster.createNamespace();
  await env.apply(kvCluster(ns, "keep", { policy: "DoNotTerminate", replicas: 1 }));
  await waitFor(async () => (await listNames("PersistentVolumeClaim", "v1", ns, "keep")).length === 1, {
    description: "the PVC",
    timeoutMs: 30_000,
  });
  const refused = await env.cluster.kubectl(["delete", "cluster", "keep", "-n", ns, "--wait=false"]);
  assert.notEqual(refused.code, 0);
  assert.match(
    refused.stderr,
    /terminationPolicy DoNotTerminate; set it to Delete or WipeOut before deleting/,
  );
  assert.ok(await env.client.find({ apiVersion: API_VERSION, kind: "Cluster", namespace: ns, name: "keep" }));
  await setTerminationPolicy(env, ns, "keep", "Delete");
  const deleted = await env.cluster.kubectl(["delete", "cluster", "keep", "-n", ns, "--timeout=60s"]);
  assert.equal(deleted.code, 0, deleted.stderr);
  for (const [kind, apiVersion] of [
    ["Component", API_VERSION],
    ["InstanceSet", API_VERSION],
    ["Pod", "v1"],
    ["PersistentVolumeClaim", "v1"],
    ["Secret", "v1"],
    ["Service", "v1"],
  ] as const) {
    await waitFor(async () => (await listNames(kind, apiVersion, ns, "keep")).length === 0, {
      description: `${kind}s of the deleted cluster to go`,
      timeoutMs: 60_000,
    });
  }
});

test("the operator exposes reconcile and queue metrics per controller", async () => {
  const text = await env.operator.metrics();
  for (const controller of ["cluster", "component", "instanceset", "ha"]) {
    assert.match(
      text,
      new RegExp(`tessera_reconcile_total\\{controller="${controller}",result="\\w+"\\} \\d+`),
    );
  }
  assert.match(text, /tessera_workqueue_depth\{controller="instanceset"\} \d+/);
  assert.match(text, /tessera_reconcile_duration_seconds_bucket\{le="0.1",controller="component"\} \d+/);
  // The runtime's metrics keep their standard names, so stock dashboards find them.
  assert.match(text, /^process_cpu_seconds_total \d/m);
  assert.match(text, /^nodejs_eventloop_lag_seconds \d/m);
  assert.doesNotMatch(text, /tessera_process_/);
});
