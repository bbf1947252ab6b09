import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { V1PersistentVolumeClaim, V1Pod, V1Service, V1StorageClass } from "@kubernetes/client-node";
import { API_VERSION, labels, type Cluster } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { TestPlatform } from "../../../../test/support/platform.js";
import { KV_ADDON, kvCluster } from "../fixtures/env.js";
import { opsManifest, waitForOps } from "../../../../test/support/ops.js";

// RebuildInstance, VolumeExpansion and Expose on a hostlet node with the kv
// test addon, on one cluster shared by the cases (they run in order).

let platform: TestPlatform;
let ns: string;
const CLUSTER = "sn";
const KV = `${CLUSTER}-kv`;
let serial = 0;
/** A StorageClass of the node's provisioner whose volumes may not grow. */
const FIXED_CLASS = "sn-fixed";

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("ops-sn");
  await platform.apply(kvCluster(ns, CLUSTER));
  await platform.waitForPhase(ns, CLUSTER, "Running");
});

after(async () => {
  await platform?.stop();
});

/** Creates an operation on the cluster and waits for it to succeed. */
async function run(type: string, extra: string) {
  const name = `${type.toLowerCase()}-${++serial}`;
  await platform.apply(opsManifest(ns, name, CLUSTER, type, extra));
  return waitForOps(platform.client, ns, name, "Succeed", 240_000);
}

/** The refusal `kubectl apply` of an operation gets. */
async function refusal(type: string, extra: string): Promise<string> {
  const manifest = opsManifest(ns, `refused-${++serial}`, CLUSTER, type, extra);
  const result = await platform.cluster.kubectl(["apply", "-f", "-"], { input: manifest });
  assert.notEqual(result.code, 0, `${type} was admitted`);
  return result.stderr;
}

async function pods(): Promise<V1Pod[]> {
  return platform.instances(ns, KV);
}

async function claims(): Promise<V1PersistentVolumeClaim[]> {
  const list = await platform.client.list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
    namespace: ns,
    labelSelector: `${labels.component}=${KV}`,
  });
  return list.items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
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
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

async function clusterObject(): Promise<Cluster> {
  return platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: CLUSTER,
  });
}

async function primary(): Promise<string> {
  return waitFor(async () => (await platform.component(ns, KV)).status?.ha?.primary, {
    description: "a recorded primary",
    timeoutMs: 60_000,
  });
}

test("RebuildInstance gives a replica new volumes under the same name; it joins the primary again as a secondary", async () => {
  const leader = await primary();
  const replica = (await pods())
    .map((p) => p.metadata!.name!)
    .find((n) => n !== leader && !n.endsWith("-0"))!;
  const before = (await pods()).find((p) => p.metadata!.name === replica)!;
  const claim = (await claims()).find((c) => c.metadata?.labels?.[labels.podName] === replica)!;
  await exec(replica, "echo old > /data/stale");
  const joins = async () =>
    (await exec(leader, "cat /data/members")).split("\n").filter((l) => l === replica).length;
  const joinedBefore = await joins();

  const done = await run(
    "RebuildInstance",
    `  rebuildInstance:\n    - componentName: kv\n      instances: [${replica}]\n`,
  );
  const after = (await pods()).find((p) => p.metadata!.name === replica)!;
  assert.notEqual(after.metadata!.uid, before.metadata!.uid, "a new pod");
  assert.equal(after.metadata?.labels?.[labels.role], "secondary");
  const newClaim = (await claims()).find((c) => c.metadata?.labels?.[labels.podName] === replica)!;
  assert.equal(newClaim.metadata!.name, claim.metadata!.name, "the claim keeps its name");
  assert.notEqual(newClaim.metadata!.uid, claim.metadata!.uid, "a new claim");
  assert.equal(
    await exec(replica, "ls /data/stale 2>/dev/null || echo gone"),
    "gone",
    "its old data is gone",
  );
  assert.equal(await joins(), joinedBefore + 1, "memberJoin ran again on the primary for the new volume");
  assert.equal(await primary(), leader, "the primary stayed");
  assert.deepEqual(
    done.status?.instances?.map((i) => [i.name, i.action, i.phase]),
    [[replica, "Rebuild", "Succeed"]],
  );

  const primaryRefused = await refusal(
    "RebuildInstance",
    `  rebuildInstance:\n    - componentName: kv\n      instances: [${leader}]\n`,
  );
  assert.match(primaryRefused, /spec\.rebuildInstance\[0\]\.instances\[0\]: .* is the writable instance/);
  const unknownRefused = await refusal(
    "RebuildInstance",
    `  rebuildInstance:\n    - componentName: kv\n      instances: [${KV}-9]\n`,
  );
  assert.match(
    unknownRefused,
    /spec\.rebuildInstance\[0\]\.instances\[0\]: .* is not an instance of component kv/,
  );
});

test("VolumeExpansion grows every volume online, without a restart; a smaller size or a StorageClass without expansion is refused at apply time", async () => {
  const uids = new Map((await pods()).map((p) => [p.metadata!.name!, p.metadata!.uid!]));
  const done = await run(
    "VolumeExpansion",
    "  volumeExpansion:\n    - componentName: kv\n      volumeClaimTemplates: [{ name: data, storage: 2Gi }]\n",
  );
  const grown = await claims();
  assert.equal(grown.length, 3);
  for (const claim of grown) {
    assert.equal(claim.spec?.resources?.requests?.storage, "2Gi");
    assert.equal(claim.status?.capacity?.storage, "2Gi", `${claim.metadata!.name} reports its new capacity`);
  }
  for (const pod of await pods())
    assert.equal(pod.metadata!.uid, uids.get(pod.metadata!.name!), `${pod.metadata!.name} did not restart`);
  const cluster = await clusterObject();
  assert.equal(
    cluster.spec.componentSpecs[0]!.volumeClaimTemplates?.[0]?.spec.resources.requests.storage,
    "2Gi",
  );
  assert.deepEqual(
    done.status?.instances?.map((i) => [i.action, i.phase]),
    [0, 1, 2].map(() => ["Expand", "Succeed"]),
  );

  assert.match(
    await refusal(
      "VolumeExpansion",
      "  volumeExpansion:\n    - componentName: kv\n      volumeClaimTemplates: [{ name: data, storage: 1Gi }]\n",
    ),
    /spec\.volumeExpansion\[0\]\.volumeClaimTemplates\[0\]\.storage: volumes cannot shrink/,
  );

  // A stopped cluster on a class of the same provisioner without expansion: the refusal needs only its spec.
  const local = await platform.client.get<V1StorageClass>({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    name: "tessera-local",
  });
  await platform.client.create<V1StorageClass>({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: FIXED_CLASS },
    provisioner: local.provisioner,
    volumeBindingMode: "WaitForFirstConsumer",
  });
  try {
    await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: fixed, namespace: ${ns} }
spec:
  clusterDef: kv
  topology: standalone
  terminationPolicy: Delete
  componentSpecs:
    - name: kv
      replicas: 1
      stop: true
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: ${FIXED_CLASS}, resources: { requests: { storage: 1Gi } } }
`);
    const manifest = opsManifest(
      ns,
      "fixed-expand",
      "fixed",
      "VolumeExpansion",
      "  volumeExpansion:\n    - componentName: kv\n      volumeClaimTemplates: [{ name: data, storage: 2Gi }]\n",
    );
    const result = await platform.cluster.kubectl(["apply", "-f", "-"], { input: manifest });
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      new RegExp(
        `spec\\.volumeExpansion\\[0\\]\\.volumeClaimTemplates\\[0\\]: StorageClass "${FIXED_CLASS}" does not allow volume expansion \\(allowVolumeExpansion: unset\\)`,
      ),
    );
  } finally {
    await platform.client.delete({ apiVersion: API_VERSION, kind: "Cluster", namespace: ns, name: "fixed" });
    await platform.client.delete({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      name: FIXED_CLASS,
    });
  }
});

/** The body of an HTTP GET to the host's node port, or undefined while nothing answers there. */
function getOnHost(port: number, path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ host: "127.0.0.1", port, path, timeout: 2000 }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve(body.trim()));
      response.on("error", () => resolve(undefined));
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(undefined));
  });
}

test("Expose adds a NodePort Service for the primary, reachable from the host, kept by the Cluster and owned by the Component; Disable removes it", async () => {
  const leader = await primary();
  // The toy engine listens on nothing: a web server on its port answers with the instance's files.
  await exec(leader, "busybox httpd -p 7000 -h /data");
  const enabled = await run(
    "Expose",
    "  expose:\n    - componentName: kv\n      switch: Enable\n      services: [{ name: ext, serviceType: NodePort, roleSelector: primary }]\n",
  );
  const ref = { apiVersion: "v1", kind: "Service", namespace: ns, name: `${KV}-ext` };
  const service = await platform.client.get<V1Service>(ref);
  assert.equal(service.spec?.type, "NodePort");
  assert.equal(service.spec?.selector?.[labels.role], "primary");
  assert.ok(service.metadata?.ownerReferences?.some((o) => o.kind === "Component"));
  const nodePort = service.spec!.ports![0]!.nodePort!;
  assert.match(enabled.status!.steps![0]!.message!, new RegExp(`NodePort ${nodePort}→7000`));
  const spec = (await clusterObject()).spec.componentSpecs[0]!;
  assert.deepEqual(spec.services, [{ name: "ext", serviceType: "NodePort", roleSelector: "primary" }]);
  const role = await waitFor(() => getOnHost(nodePort, "/role"), {
    description: `the primary's port through node port ${nodePort}`,
    timeoutMs: 30_000,
  });
  assert.equal(role, "primary");

  await run(
    "Expose",
    "  expose:\n    - componentName: kv\n      switch: Disable\n      services: [{ name: ext }]\n",
  );
  assert.equal(await platform.client.find(ref), undefined, "the Service is gone");
  assert.equal((await clusterObject()).spec.componentSpecs[0]!.services, undefined);
  await waitFor(async () => (await getOnHost(nodePort, "/role")) === undefined, {
    description: `node port ${nodePort} to close`,
    timeoutMs: 30_000,
  });
});
