// Status that explains: a cluster whose instance cannot be scheduled says in its Ready condition
// (and the Component's) which instance and why, in the scheduler's words, as the CLI and kubectl
// show it; the explanation goes once the cause does.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { API_VERSION, type Cluster, type Component, type Condition } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { runCommand } from "@tessera/base";
import { TestPlatform } from "../support/platform.js";

const LAUNCHER = fileURLToPath(new URL("../../tessera", import.meta.url));
const KV_ADDON = fileURLToPath(new URL("../../packages/operator/test/fixtures/addons/kv/", import.meta.url));
const CLUSTER = "explain";
const INSTANCE = `${CLUSTER}-kv-0`;
// A taint the pods do not tolerate: known only to the scheduler, never to admission.
const TAINT = "tessera.dev/e2e-blocked";

let platform: TestPlatform;
let ns: string;
let node: string;

async function kubectl(args: string[]): Promise<string> {
  const result = await platform.cluster.kubectl(args);
  assert.equal(result.code, 0, `kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** The Ready condition as `kubectl get cluster -o yaml` shows it. */
async function clusterReady(): Promise<Condition | undefined> {
  const cluster = parse(await kubectl(["get", "cluster", CLUSTER, "-n", ns, "-o", "yaml"])) as Cluster;
  return cluster.status?.conditions?.find((c) => c.type === "Ready");
}

async function componentReady(): Promise<Condition | undefined> {
  const component = await platform.client.get<Component>({
    apiVersion: API_VERSION,
    kind: "Component",
    namespace: ns,
    name: `${CLUSTER}-kv`,
  });
  return component.status?.conditions?.find((c) => c.type === "Ready");
}

/** `tessera cluster describe`, run as a user runs it, against this platform. */
async function describeCluster(): Promise<string> {
  const { KUBECONFIG: _inherited, ...env } = process.env;
  const result = await runCommand(
    LAUNCHER,
    ["--kubeconfig", platform.cluster.kubeconfig, "cluster", "describe", CLUSTER, "-n", ns],
    { env: { ...env, NO_COLOR: "1" }, timeoutMs: 120_000 },
  );
  assert.equal(result.code, 0, `describe failed: ${result.stderr}`);
  return result.stdout;
}

/** The rows of describe's Conditions table (its object column comes first). */
function conditionRows(described: string): string[] {
  return described
    .split("\n")
    .filter((line) => /^(Cluster|Component) \S+\s+\w+\s+(True|False|Unknown)\b/.test(line));
}

/** The scheduler's own message on the instance's pod, once it gave up placing it. */
async function schedulerMessage(): Promise<string> {
  return waitFor(
    async () => {
      const pod = await platform.client.find<V1Pod>({
        apiVersion: "v1",
        kind: "Pod",
        namespace: ns,
        name: INSTANCE,
      });
      const scheduled = pod?.status?.conditions?.find((c) => c.type === "PodScheduled");
      return scheduled?.status === "False" && scheduled.message ? scheduled.message : undefined;
    },
    { description: `the scheduler to report why ${INSTANCE} cannot be placed`, timeoutMs: 60_000 },
  );
}

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("explain");
  const nodes = await platform.client.list<V1Node>("v1", "Node");
  assert.equal(nodes.items.length, 1, "one hostlet node");
  node = nodes.items[0]!.metadata!.name!;
});

after(async () => {
  await platform?.stop();
});

test("an unschedulable instance is named with the scheduler's reason in the Ready conditions, until the cause goes", async () => {
  await kubectl(["taint", "nodes", node, `${TAINT}=true:NoSchedule`]);
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${CLUSTER}, namespace: ${ns} }
spec:
  clusterDef: kv
  topology: standalone
  terminationPolicy: Delete
  componentSpecs:
    - name: kv
      replicas: 1
      resources: { requests: { cpu: 10m, memory: 16Mi } }
`);
  const reason = await schedulerMessage();
  assert.match(reason, new RegExp(TAINT), "the scheduler names the taint");
  const explanation = `${INSTANCE} Unschedulable: ${reason}`;

  const ready = await waitFor(
    async () => {
      const condition = await clusterReady();
      return condition?.message.includes(explanation) ? condition : undefined;
    },
    { description: "the Cluster's Ready condition to explain the unschedulable instance", timeoutMs: 60_000 },
  );
  assert.equal(ready.status, "False");
  assert.match(ready.message, /^waiting for component kv: 0\/1 instances ready/);
  const component = await componentReady();
  assert.equal(component?.status, "False");
  assert.ok(component?.message.includes(explanation), `Component Ready: ${component?.message}`);

  const described = await describeCluster();
  const conditionLines = conditionRows(described).filter((line) => /\sReady\s+False\s/.test(line));
  assert.ok(
    conditionLines.some((line) => line.startsWith("Cluster") && line.includes(explanation)),
    `describe shows the Cluster's reason:\n${described}`,
  );
  assert.ok(
    conditionLines.some((line) => line.startsWith("Component") && line.includes(explanation)),
    `describe shows the Component's reason:\n${described}`,
  );

  await kubectl(["taint", "nodes", node, `${TAINT}-`]);
  await platform.waitForPhase(ns, CLUSTER, "Running", 120_000);
  const cleared = await clusterReady();
  assert.equal(cleared?.status, "True");
  assert.equal(cleared?.message, "all components running");
  assert.doesNotMatch((await componentReady())?.message ?? "", /Unschedulable/);
  const rows = conditionRows(await describeCluster());
  assert.ok(rows.length > 0 && rows.every((row) => !row.includes("Unschedulable")), rows.join("\n"));
});
