import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type {
  V1Lease,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
} from "@kubernetes/client-node";
import { waitFor } from "@tessera/kube";
import { runCommand } from "@tessera/base";
import { TestCluster } from "@tessera/testing";
import { hostletNode } from "../../src/testing.js";
import type { HostletProcess } from "../../src/process.js";
import { getPod, isReady, waitForPod } from "./helpers.js";

let cluster: TestCluster<HostletProcess>;
let ns: string;

before(async () => {
  cluster = await TestCluster.start({ node: hostletNode({ restartBackoffMs: 1000 }) });
  ns = await cluster.createNamespace("node");
});

after(async () => {
  await cluster?.stop();
});

/** A marker only this pod's main process carries on its command line, to find it with pgrep. */
const marker = `${3600 + Math.floor(Math.random() * 1000)}.${Math.floor(Math.random() * 1e6)}`;

async function sandboxProcesses(): Promise<string[]> {
  const result = await runCommand("pgrep", ["-af", `sleep ${marker}|${cluster.node.stateDir}/pods`]);
  return result.stdout.split("\n").filter((line) => line && !line.includes("pgrep"));
}

async function createWriter(name: string, claimName = "data"): Promise<void> {
  await cluster.client.create<V1Pod>({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns },
    spec: {
      securityContext: { runAsUser: 1000, runAsGroup: 1000 },
      containers: [
        {
          name: "main",
          image: "busybox",
          command: ["sleep", marker],
          volumeMounts: [{ name: "data", mountPath: "/var/lib/app/data" }],
        },
      ],
      volumes: [{ name: "data", persistentVolumeClaim: { claimName } }],
    },
  });
}

const readFile = (pod: string) =>
  cluster.kubectl(["exec", "-n", ns, pod, "--", "cat", "/var/lib/app/data/file"]);

test("a claim gets a local volume whose data outlives its pods and a hostlet restart, expands online, and is deleted with the claim", async () => {
  await cluster.client.create<V1PersistentVolumeClaim>({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data", namespace: ns },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Mi" } } },
  });
  await createWriter("writer");
  const first = await waitForPod(cluster, ns, "writer", "ready", isReady);
  const write = await cluster.kubectl([
    "exec",
    "-n",
    ns,
    "writer",
    "--",
    "sh",
    "-c",
    "echo kept > /var/lib/app/data/file",
  ]);
  assert.equal(write.code, 0, write.stderr);

  await cluster.client.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "writer" });
  await waitFor(async () => !(await getPod(cluster.client, ns, "writer")), {
    description: "writer deleted",
    timeoutMs: 60_000,
  });
  await createWriter("reader");
  const reader = await waitForPod(cluster, ns, "reader", "ready", isReady);
  assert.equal((await readFile("reader")).stdout, "kept\n");
  assert.notEqual(reader.metadata!.uid, first.metadata!.uid);

  await cluster.node.restart();
  const recovered = await waitForPod(
    cluster,
    ns,
    "reader",
    "running again after the restart",
    (p) => isReady(p) && (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
  );
  assert.equal(recovered.status!.podIP, reader.status!.podIP, "the pod keeps its IP");
  assert.equal((await readFile("reader")).stdout, "kept\n");

  const claim = await cluster.client.get<V1PersistentVolumeClaim>({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    namespace: ns,
    name: "data",
  });
  const volumeName = claim.spec!.volumeName!;
  const volume = await cluster.client.get<V1PersistentVolume>({
    apiVersion: "v1",
    kind: "PersistentVolume",
    name: volumeName,
  });
  const dir = volume.spec!.local!.path;
  assert.ok(existsSync(dir));

  await cluster.client.patch(
    { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: ns, name: "data" },
    { spec: { resources: { requests: { storage: "20Mi" } } } },
    "merge",
  );
  await waitFor(
    async () => {
      const expanded = await cluster.client.get<V1PersistentVolumeClaim>({
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: ns,
        name: "data",
      });
      return expanded.status?.capacity?.storage === "20Mi";
    },
    { description: "the claim to report its new size", timeoutMs: 30_000 },
  );
  const grown = await cluster.client.get<V1PersistentVolume>({
    apiVersion: "v1",
    kind: "PersistentVolume",
    name: volumeName,
  });
  assert.equal(grown.spec!.capacity!.storage, "20Mi");

  await cluster.client.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "reader" });
  await cluster.client.delete({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    namespace: ns,
    name: "data",
  });
  await waitFor(
    async () =>
      !(await cluster.client.find({ apiVersion: "v1", kind: "PersistentVolume", name: volumeName })),
    {
      description: "the released volume to be deleted",
      timeoutMs: 60_000,
    },
  );
  assert.ok(!existsSync(dir), "its directory is gone");
});

test("a claim of a WaitForFirstConsumer class is provisioned on the node its pod was scheduled to", async () => {
  const storageClass = `later-${ns}`;
  await cluster.client.create({
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: storageClass },
    provisioner: "tessera.dev/local-path",
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
  });
  const claimRef = { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace: ns, name: "later" };
  try {
    await cluster.client.create<V1PersistentVolumeClaim>({
      ...claimRef,
      metadata: { name: "later", namespace: ns },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: storageClass,
        resources: { requests: { storage: "10Mi" } },
      },
    });
    await createWriter("consumer", "later");
    await waitForPod(cluster, ns, "consumer", "ready", isReady);
    const claim = await cluster.client.get<V1PersistentVolumeClaim>(claimRef);
    assert.equal(claim.metadata?.annotations?.["volume.kubernetes.io/selected-node"], cluster.node.nodeName);
    const volume = await cluster.client.get<V1PersistentVolume>({
      apiVersion: "v1",
      kind: "PersistentVolume",
      name: claim.spec!.volumeName!,
    });
    assert.deepEqual(
      volume.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values,
      [cluster.node.nodeName],
    );
  } finally {
    await cluster.client
      .delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "consumer" })
      .catch(() => undefined);
    await waitFor(async () => !(await getPod(cluster.client, ns, "consumer")), {
      description: "consumer deleted",
      timeoutMs: 60_000,
    });
    await cluster.client.delete(claimRef).catch(() => undefined);
    await cluster.client.delete({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      name: storageClass,
    });
  }
});

test("no sandbox process outlives the hostlet, whether stopped or killed, and pods come back when it returns", async () => {
  await cluster.client.create<V1Pod>({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "sleeper", namespace: ns },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: "main", image: "busybox", command: ["sleep", marker] }],
    },
  });
  await waitForPod(cluster, ns, "sleeper", "ready", isReady);
  assert.ok((await sandboxProcesses()).length > 0);

  await cluster.node.stop();
  assert.deepEqual(await sandboxProcesses(), [], "after a clean stop");

  await cluster.node.start();
  await waitForPod(
    cluster,
    ns,
    "sleeper",
    "running again",
    (p) => isReady(p) && (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
  );
  assert.ok((await sandboxProcesses()).length > 0);

  await cluster.node.kill();
  await waitFor(async () => (await sandboxProcesses()).length === 0, {
    description: "the kernel to kill the sandboxes",
    timeoutMs: 10_000,
  });

  await cluster.node.start();
  await waitForPod(
    cluster,
    ns,
    "sleeper",
    "running after the kill",
    (p) => isReady(p) && (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2,
  );
});

test("the Node reports capacity, addresses and its kubelet endpoint, and renews its Lease", async () => {
  const node = await cluster.client.get<V1Node>({
    apiVersion: "v1",
    kind: "Node",
    name: cluster.node.nodeName,
  });
  assert.ok(Number(node.status!.capacity!.cpu) >= 1);
  assert.match(node.status!.allocatable!.memory!, /^\d+Ki$/);
  assert.deepEqual(
    node.status!.addresses!.find((a) => a.type === "InternalIP"),
    { type: "InternalIP", address: "127.0.0.1" },
  );
  assert.ok(node.status!.daemonEndpoints!.kubeletEndpoint!.Port > 0);
  assert.equal(node.spec!.podCIDR, cluster.node.podCIDR);
  const lease = () =>
    cluster.client.get<V1Lease>({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: "kube-node-lease",
      name: cluster.node.nodeName,
    });
  const first = await lease();
  assert.equal(first.spec!.holderIdentity, cluster.node.nodeName);
  await waitFor(async () => String((await lease()).spec!.renewTime) !== String(first.spec!.renewTime), {
    description: "the lease to be renewed",
    timeoutMs: 30_000,
    intervalMs: 500,
  });
});
