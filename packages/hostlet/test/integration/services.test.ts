import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { V1Deployment, V1Pod, V1Service } from "@kubernetes/client-node";
import { waitFor } from "@tessera/kube";
import { runCommand } from "@tessera/base";
import { kubeBinDir } from "@tessera/control-plane/paths";
import { TestCluster } from "@tessera/testing";
import { hostletNode } from "../../src/testing.js";
import type { HostletProcess } from "../../src/process.js";
import type { FaultClient } from "../../src/index.js";
import { getPod, isReady, redisCli, redisContainer, waitForPod } from "./helpers.js";

let cluster: TestCluster<HostletProcess>;
let ns: string;

before(async () => {
  cluster = await TestCluster.start({ node: hostletNode({ restartBackoffMs: 1000 }) });
  ns = await cluster.createNamespace("svc");
});

after(async () => {
  await cluster?.stop();
});

async function servicePods(app: string): Promise<V1Pod[]> {
  const list = await cluster.client.list<V1Pod>("v1", "Pod", { namespace: ns, labelSelector: `app=${app}` });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

async function createService(
  name: string,
  selector: Record<string, string>,
  headless = false,
): Promise<string> {
  const service = await cluster.client.create<V1Service>({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns },
    spec: {
      selector,
      ports: [{ name: "redis", port: 6379, targetPort: "redis" }],
      ...(headless ? { clusterIP: "None" } : {}),
    },
  });
  return service.spec!.clusterIP!;
}

test("a Redis Deployment behind a ClusterIP Service serves reads and writes and survives losing a pod", async () => {
  await cluster.client.create<V1Deployment>({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "redis", namespace: ns },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "redis" } },
      template: { metadata: { labels: { app: "redis" } }, spec: { containers: [redisContainer()] } },
    },
  });
  const clusterIP = await createService("redis", { app: "redis" });
  const pods = await waitFor(
    async () => {
      const list = await servicePods("redis");
      return list.length === 2 && list.every(isReady) ? list : undefined;
    },
    { description: "two ready redis pods", timeoutMs: 90_000, intervalMs: 250 },
  );
  const ips = pods.map((p) => p.status!.podIP!);
  assert.equal(new Set(ips).size, 2);
  for (const ip of ips) assert.ok(ip.startsWith(cluster.node.podCIDR.split(".").slice(0, 2).join(".")));

  const writeAndRead = async () => {
    const key = `k${Math.random().toString(36).slice(2)}`;
    // Each connection may land on either replica: write and read in one connection.
    const result = await redisCli(clusterIP, [
      "eval",
      `redis.call('set', KEYS[1], 'v'); return redis.call('get', KEYS[1])`,
      "1",
      key,
    ]);
    return result.code === 0 && result.stdout.trim() === "v";
  };
  await waitFor(writeAndRead, { description: "redis through the ClusterIP", timeoutMs: 30_000 });

  const victim = pods[0]!;
  await cluster.client.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: victim.metadata!.name! });
  const replaced = await waitFor(
    async () => {
      const list = await servicePods("redis");
      const fresh = list.find(
        (p) => p.metadata!.uid !== victim.metadata!.uid && !ips.includes(p.status?.podIP ?? ""),
      );
      return list.length === 2 && list.every(isReady) && fresh ? fresh : undefined;
    },
    { description: "the ReplicaSet to replace the deleted pod", timeoutMs: 90_000, intervalMs: 250 },
  );
  assert.notEqual(replaced.status!.podIP, victim.status!.podIP, "the replacement gets a fresh IP");
  assert.equal(
    await getPod(cluster.client, ns, victim.metadata!.name!),
    undefined,
    "the deleted pod is gone",
  );
  for (let i = 0; i < 6; i++) assert.ok(await writeAndRead(), "the service keeps working with the new pod");
});

test("a pod whose readiness probe fails leaves its Service, and returns when it passes", async () => {
  await cluster.client.create<V1Pod>({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "gated", namespace: ns, labels: { app: "gated" } },
    spec: {
      containers: [
        redisContainer({
          readinessProbe: {
            exec: { command: ["sh", "-c", "test -e /tmp/ready"] },
            periodSeconds: 1,
            failureThreshold: 1,
          },
        }),
      ],
    },
  });
  const clusterIP = await createService("gated", { app: "gated" });
  await waitForPod(
    cluster,
    ns,
    "gated",
    "running, not ready",
    (p) => p.status?.phase === "Running" && !isReady(p),
  );
  assert.notEqual((await redisCli(clusterIP, ["ping"])).stdout.trim(), "PONG", "no ready endpoint, no route");

  await cluster.kubectl(["exec", "-n", ns, "gated", "--", "touch", "/tmp/ready"]);
  await waitForPod(cluster, ns, "gated", "ready", isReady);
  await waitFor(async () => (await redisCli(clusterIP, ["ping"])).stdout.trim() === "PONG", {
    description: "the ready pod behind its service",
    timeoutMs: 10_000,
  });

  await cluster.kubectl(["exec", "-n", ns, "gated", "--", "rm", "/tmp/ready"]);
  await waitForPod(cluster, ns, "gated", "not ready again", (p) => !isReady(p));
  await waitFor(async () => (await redisCli(clusterIP, ["ping"])).stdout.trim() !== "PONG", {
    description: "the unready pod to leave its service",
    timeoutMs: 10_000,
  });
});

test("pods find each other by name through their hosts files, updated as pods come and go", async () => {
  await createService("members", { app: "member" }, true);
  for (const name of ["member-0", "member-1"]) {
    await cluster.client.create<V1Pod>({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns, labels: { app: "member" } },
      spec: { hostname: name, subdomain: "members", containers: [redisContainer()] },
    });
  }
  const other = await waitForPod(cluster, ns, "member-1", "ready", isReady);
  await waitForPod(cluster, ns, "member-0", "ready", isReady);
  const hosts = async () =>
    (await cluster.kubectl(["exec", "-n", ns, "member-0", "--", "cat", "/etc/hosts"])).stdout;
  await waitFor(
    async () => (await hosts()).includes(`${other.status!.podIP}\tmember-1.members.${ns}.svc.cluster.local`),
    {
      description: "member-1's name in member-0's hosts file",
      timeoutMs: 10_000,
    },
  );
  const ping = await cluster.kubectl([
    "exec",
    "-n",
    ns,
    "member-0",
    "--",
    "redis-cli",
    "-h",
    `member-1.members.${ns}.svc.cluster.local`,
    "ping",
  ]);
  assert.equal(ping.stdout.trim(), "PONG", ping.stderr);
  assert.match(
    await hosts(),
    new RegExp(`\\tredis\\.${ns}\\.svc\\.cluster\\.local redis\\.${ns}\\.svc redis\\.${ns} redis\\n`),
  );
  await cluster.client.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "member-1" });
  await waitFor(async () => !(await hosts()).includes("member-1."), {
    description: "member-1 to leave the hosts file",
    timeoutMs: 30_000,
  });
});

test("an isolated pod is unreachable directly and through services, and reaches nothing, until restored", async () => {
  const faults: FaultClient = await cluster.node.faults();
  for (const [name, app] of [
    ["target", "iso"],
    ["peer", "peer"],
  ] as const) {
    await cluster.client.create<V1Pod>({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns, labels: { app } },
      spec: { containers: [redisContainer()] },
    });
  }
  const target = await waitForPod(cluster, ns, "target", "ready", isReady);
  const targetIP = target.status!.podIP!;
  const peer = await waitForPod(cluster, ns, "peer", "ready", isReady);
  const clusterIP = await createService("isolated", { app: "iso" });
  const fromPeer = () =>
    cluster.kubectl(["exec", "-n", ns, "peer", "--", "redis-cli", "-h", targetIP, "ping"]);
  const fromTarget = () =>
    cluster.kubectl(["exec", "-n", ns, "target", "--", "redis-cli", "-h", peer.status!.podIP!, "ping"]);
  await waitFor(async () => (await redisCli(clusterIP, ["ping"])).stdout.trim() === "PONG", {
    description: "service up",
    timeoutMs: 10_000,
  });
  assert.equal((await fromPeer()).stdout.trim(), "PONG");

  await faults.isolate(ns, "target");
  try {
    assert.notEqual((await fromPeer()).stdout.trim(), "PONG", "peer → isolated pod");
    assert.notEqual((await fromTarget()).stdout.trim(), "PONG", "isolated pod → peer");
    assert.notEqual((await redisCli(targetIP, ["ping"])).stdout.trim(), "PONG", "host → isolated pod");
    assert.notEqual((await redisCli(clusterIP, ["ping"])).stdout.trim(), "PONG", "service → isolated pod");
    const self = await cluster.kubectl([
      "exec",
      "-n",
      ns,
      "target",
      "--",
      "redis-cli",
      "-h",
      targetIP,
      "ping",
    ]);
    assert.equal(self.stdout.trim(), "PONG", `the pod still reaches itself: ${self.stderr}`);
    assert.ok(isReady((await getPod(cluster.client, ns, "target"))!), "the node's own probes still pass");
  } finally {
    await faults.restore(ns, "target");
  }
  assert.equal((await fromPeer()).stdout.trim(), "PONG");
  assert.equal((await fromTarget()).stdout.trim(), "PONG");
  assert.equal((await redisCli(clusterIP, ["ping"])).stdout.trim(), "PONG");

  await faults.isolate(ns, "target", { refuseKubeletApi: true });
  try {
    const refused = await cluster.kubectl(["exec", "-n", ns, "target", "--", "true"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unreachable/);
  } finally {
    await faults.restore(ns, "target");
  }
});

test("a frozen pod stops answering until it is thawed", async () => {
  const faults = await cluster.node.faults();
  const peer = await waitForPod(cluster, ns, "peer", "ready", isReady);
  const ip = peer.status!.podIP!;
  await faults.freeze(ns, "peer");
  try {
    // The kernel still accepts the connection, but the frozen server never answers.
    const frozen = await runCommand("redis-cli", ["-h", ip, "ping"], { timeoutMs: 3000 });
    assert.notEqual(frozen.stdout.trim(), "PONG");
  } finally {
    await faults.thaw(ns, "peer");
  }
  await waitFor(async () => (await redisCli(ip, ["ping"])).stdout.trim() === "PONG", {
    description: "the thawed server to answer",
    timeoutMs: 10_000,
  });
});

test("moving a role label moves the Service to the newly labelled pod", async () => {
  for (const [name, role] of [
    ["role-a", "primary"],
    ["role-b", "replica"],
  ] as const) {
    await cluster.client.create<V1Pod>({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: ns, labels: { app: "roles", role } },
      spec: { containers: [redisContainer()] },
    });
  }
  const a = await waitForPod(cluster, ns, "role-a", "ready", isReady);
  const b = await waitForPod(cluster, ns, "role-b", "ready", isReady);
  const clusterIP = await createService("roles-primary", { app: "roles", role: "primary" });
  const servedBy = async () => {
    const result = await redisCli(clusterIP, ["config", "get", "bind"]);
    return result.stdout.split("\n")[1]?.trim();
  };
  await waitFor(async () => (await servedBy()) === a.status!.podIP, {
    description: "role-a behind the service",
    timeoutMs: 10_000,
  });
  const relabel = (name: string, role: string) =>
    cluster.client.patch(
      { apiVersion: "v1", kind: "Pod", namespace: ns, name },
      { metadata: { labels: { role } } },
      "merge",
    );
  await relabel("role-a", "replica");
  await relabel("role-b", "primary");
  await waitFor(async () => (await servedBy()) === b.status!.podIP, {
    description: "role-b behind the service",
    timeoutMs: 10_000,
  });
});

test("kubectl port-forward reaches a pod's port", async () => {
  await waitForPod(cluster, ns, "peer", "ready", isReady);
  const forward = spawn(join(kubeBinDir(), "kubectl"), [
    "--kubeconfig",
    cluster.kubeconfig,
    "port-forward",
    "-n",
    ns,
    "pod/peer",
    ":6379",
  ]);
  let output = "";
  forward.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  try {
    const port = await waitFor(() => /Forwarding from 127\.0\.0\.1:(\d+) -> 6379/.exec(output)?.[1], {
      description: "kubectl port-forward to listen",
      timeoutMs: 20_000,
    });
    const result = await redisCli("127.0.0.1", ["ping"], Number(port));
    assert.equal(result.stdout.trim(), "PONG", result.stderr);
  } finally {
    forward.kill();
  }
});
