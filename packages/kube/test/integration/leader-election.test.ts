import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { V1Lease } from "@kubernetes/client-node";
import { TestCluster } from "@tessera/testing";
import { waitFor } from "../../src/wait.js";
import { microTime } from "../../src/leader-election.js";

const fixture = fileURLToPath(new URL("../fixtures/elector.ts", import.meta.url));
let cluster: TestCluster;
const children: ChildProcess[] = [];

before(async () => {
  cluster = await TestCluster.start();
});

after(async () => {
  for (const child of children) child.kill("SIGKILL");
  await cluster?.stop();
});

function startCandidate(ns: string, identity: string) {
  const child = spawn(process.execPath, ["--import", "tsx", fixture, cluster.kubeconfig, ns, identity], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const state = { output: "", exited: false };
  child.stdout!.on("data", (chunk: Buffer) => (state.output += chunk.toString()));
  child.once("exit", () => (state.exited = true));
  return { child, state };
}

async function holder(ns: string): Promise<string | undefined> {
  const lease = await cluster.client.find<V1Lease>({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: ns,
    name: "test-operator",
  });
  return lease?.spec?.holderIdentity;
}

test("MicroTime has six fractional digits", () => {
  assert.match(microTime(new Date("2024-01-02T03:04:05.678Z")), /^2024-01-02T03:04:05\.678000Z$/);
});

test("of two operator processes exactly one leads, and the other takes over when the leader is killed", async () => {
  const ns = await cluster.createNamespace();
  const a = startCandidate(ns, "a");
  await waitFor(() => a.state.output.includes("LEADING a"), { description: "a to lead", timeoutMs: 30_000 });
  const b = startCandidate(ns, "b");
  await waitFor(() => b.state.output.includes("CAMPAIGNING b"), {
    description: "b to campaign",
    timeoutMs: 30_000,
  });
  // Over several renew periods b must stay a follower while a keeps renewing.
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!b.state.output.includes("LEADING"), "only one process may lead");
    assert.equal(await holder(ns), "a");
  }
  a.child.kill("SIGKILL");
  // The lease lasts 3 s; the deadline leaves room for a busy machine without hiding a stuck election.
  await waitFor(() => b.state.output.includes("LEADING b"), {
    description: "b to take over",
    timeoutMs: 15_000,
  });
  assert.equal(await holder(ns), "b");
});

test("a leader that stops cleanly releases the lease so a standby takes over at once", async () => {
  const ns = await cluster.createNamespace();
  const a = startCandidate(ns, "a");
  await waitFor(() => a.state.output.includes("LEADING a"), { description: "a to lead", timeoutMs: 30_000 });
  const b = startCandidate(ns, "b");
  await waitFor(() => b.state.output.includes("CAMPAIGNING b"), {
    description: "b to campaign",
    timeoutMs: 30_000,
  });
  a.child.kill("SIGTERM");
  await waitFor(() => a.state.exited, { description: "a to exit", timeoutMs: 10_000 });
  assert.match(a.state.output, /STOPPED a/);
  await waitFor(() => b.state.output.includes("LEADING b"), {
    description: "b to take over",
    timeoutMs: 30_000,
  });
});
