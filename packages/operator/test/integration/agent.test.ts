import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { labels, names, type Component } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { testRoot } from "@tessera/testing";
import { TestPlatform } from "../../../../test/support/platform.js";
import { auditEventsSince, auditOffset } from "../../../../test/support/audit.js";
import { opsManifest, waitForOps } from "../../../../test/support/ops.js";
import { KV_ADDON, kvCluster } from "../fixtures/env.js";

// The in-pod agent runs the role actions: a switchover and a failover (promote, demote, follow)
// go through it over the pod network, and the apiserver's audit log shows no `pods/exec` at all.

let platform: TestPlatform;
let ns: string;
let dir: string;
let auditLog: string;
const CLUSTER = "agent";
const KV = `${CLUSTER}-kv`;

before(async () => {
  dir = mkdtempSync(join(testRoot(), "agent-audit-"));
  auditLog = join(dir, "audit.log");
  platform = await TestPlatform.start({ addons: [KV_ADDON], auditLog });
  ns = await platform.cluster.createNamespace("agent");
  await platform.apply(kvCluster(ns, CLUSTER));
  await platform.waitForPhase(ns, CLUSTER, "Running");
});

after(async () => {
  await platform?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function component(): Promise<Component> {
  return platform.component(ns, KV);
}

async function roles(): Promise<Map<string, string | undefined>> {
  const list = await platform.client.list<V1Pod>("v1", "Pod", {
    namespace: ns,
    labelSelector: `${labels.component}=${KV}`,
  });
  return new Map(list.items.map((p) => [p.metadata!.name!, p.metadata?.labels?.[labels.role]]));
}

async function onePrimary(primary: string): Promise<boolean> {
  const now = await roles();
  return (
    now.size === 3 &&
    now.get(primary) === "primary" &&
    [...now.values()].filter((r) => r === "primary").length === 1 &&
    [...now.values()].filter((r) => r === "secondary").length === 2
  );
}

test("the agent's Secret holds a token and every instance carries the agent", async () => {
  const secret = await platform.client.get<V1Secret>({
    apiVersion: "v1",
    kind: "Secret",
    namespace: ns,
    name: names.agentSecret(KV),
  });
  assert.equal(Buffer.from(secret.data?.token ?? "", "base64").length, 64);
  const pods = await platform.client.list<V1Pod>("v1", "Pod", {
    namespace: ns,
    labelSelector: `${labels.component}=${KV}`,
  });
  for (const pod of pods.items)
    assert.ok(
      pod.spec?.containers.some((c) => c.ports?.some((p) => p.name === "tessera-agent")),
      pod.metadata?.name,
    );
});

test("a switchover and a failover run their actions through the agent, with no pods/exec", async () => {
  const offset = auditOffset(auditLog);
  const from = (await component()).status!.ha!.primary!;
  await platform.apply(
    opsManifest(ns, "switch", CLUSTER, "Switchover", "  switchover:\n    - componentName: kv\n"),
  );
  const op = await waitForOps(platform.client, ns, "switch", "Succeed", 120_000);
  const candidate = op.status!.steps![0]!.candidate!;
  assert.notEqual(candidate, from);
  await waitFor(() => onePrimary(candidate), {
    description: `${candidate} the one primary`,
    timeoutMs: 60_000,
  });

  const faults = await platform.hostlet.faults();
  await faults.killContainer(ns, candidate, "kv");
  await waitFor(async () => (await component()).status?.ha?.primary !== candidate, {
    description: "failover",
    timeoutMs: 60_000,
  });
  const promoted = (await component()).status!.ha!.primary!;
  await waitFor(() => onePrimary(promoted), {
    description: `${promoted} the one primary and the others, the killed one too, secondaries`,
    timeoutMs: 60_000,
  });

  const execs = auditEventsSince(auditLog, offset).filter((e) => e.objectRef?.subresource === "exec");
  assert.deepEqual(
    execs.map((e) => `${e.verb} ${e.objectRef?.name}`),
    [],
    "no action went through pods/exec",
  );
});
