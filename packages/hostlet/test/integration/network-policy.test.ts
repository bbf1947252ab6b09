import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { waitFor } from "@tessera/kube";
import { runCommand } from "@tessera/base";
import { TestCluster } from "@tessera/testing";
import { hostletNode } from "../../src/testing.js";
import type { HostletProcess } from "../../src/process.js";
import { chainNames } from "../../src/network/iptables.js";
import { isReady, redisCli, redisContainer, waitForPod } from "./helpers.js";

const MONITORING = "tessera.test/monitoring";

let cluster: TestCluster<HostletProcess>;
let nsA: string;
let nsB: string;

before(async () => {
  cluster = await TestCluster.start({ node: hostletNode() });
  nsA = await cluster.createNamespace("tenant-a");
  nsB = await cluster.createNamespace("tenant-b");
});

after(async () => {
  const chain = cluster && chainNames(cluster.node.nodeName).policies;
  await cluster?.stop();
  if (chain) {
    const listed = await runCommand("iptables", ["-w", "5", "-S", chain]);
    assert.notEqual(listed.code, 0, `chain ${chain} is left behind: ${listed.stdout}`);
  }
});

async function redisPod(
  namespace: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<V1Pod> {
  await cluster.client.create<V1Pod>({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels },
    spec: { containers: [redisContainer()] },
  });
  return waitForPod(cluster, namespace, name, "ready", isReady);
}

/** Whether the pod's redis-cli gets an answer from `host`. */
async function reaches(namespace: string, pod: string, host: string): Promise<boolean> {
  const result = await cluster.kubectl(["exec", "-n", namespace, pod, "--", "redis-cli", "-h", host, "ping"]);
  return result.stdout.trim() === "PONG";
}

function labelNamespace(name: string, value: string | null) {
  return cluster.client.patch(
    { apiVersion: "v1", kind: "Namespace", name },
    { metadata: { labels: { [MONITORING]: value } } },
    "merge",
  );
}

test("a tenant's isolation policy cuts other namespaces off its pods and services, not its own pods or the host", async () => {
  const [, db] = await Promise.all([redisPod(nsA, "client"), redisPod(nsB, "db", { app: "db" })]);
  const dbIP = db.status!.podIP!;
  const service = await cluster.client.create<V1Service>({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "db", namespace: nsB },
    spec: { selector: { app: "db" }, ports: [{ port: 6379, targetPort: "redis" }] },
  });
  const clusterIP = service.spec!.clusterIP!;
  await waitFor(() => reaches(nsA, "client", clusterIP), {
    description: "A → B's service",
    timeoutMs: 10_000,
  });
  assert.ok(await reaches(nsA, "client", dbIP), "A → B's pod before any policy");

  // As a tenant's namespace has it: its own pods and a monitoring namespace may connect.
  await cluster.client.create({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "isolation", namespace: nsB },
    spec: {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ podSelector: {} }, { namespaceSelector: { matchLabels: { [MONITORING]: "true" } } }],
          ports: [{ port: "redis" }],
        },
      ],
    },
  });
  await waitFor(async () => !(await reaches(nsA, "client", dbIP)), {
    description: "the policy to cut A off B's pod IP",
    timeoutMs: 10_000,
  });
  assert.ok(!(await reaches(nsA, "client", clusterIP)), "A → B's service is cut too");

  // Created under the policy, its readiness proves the hostlet's probes pass it.
  await redisPod(nsB, "peer");
  assert.ok(await reaches(nsB, "peer", dbIP), "B → B's pod");
  assert.ok(await reaches(nsB, "peer", clusterIP), "B → B's service");
  assert.ok(await reaches(nsB, "db", dbIP), "B's pod → itself");
  for (const host of [dbIP, clusterIP]) {
    const fromHost = await redisCli(host, ["ping"]);
    assert.equal(fromHost.stdout.trim(), "PONG", `host (as the operator) → ${host}: ${fromHost.stderr}`);
  }

  await labelNamespace(nsA, "true");
  await waitFor(() => reaches(nsA, "client", dbIP), {
    description: "a namespace labelled for monitoring to reach B",
    timeoutMs: 10_000,
  });
  await labelNamespace(nsA, null);
  await waitFor(async () => !(await reaches(nsA, "client", dbIP)), {
    description: "the unlabelled namespace to be cut off again",
    timeoutMs: 10_000,
  });

  await cluster.client.delete({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    namespace: nsB,
    name: "isolation",
  });
  await waitFor(() => reaches(nsA, "client", dbIP), {
    description: "A → B's pod once the policy is gone",
    timeoutMs: 10_000,
  });
  assert.ok(await reaches(nsA, "client", clusterIP), "A → B's service once the policy is gone");
});
