// The day-2 commands of the tessera CLI run as a user runs them (the
// repository's launcher as a process) against a test platform with a hostlet
// node and the kv test addon: each creates an OpsRequest, --wait follows it to
// its end, and `ops list|describe|cancel` show and steer them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { API_VERSION, labels, type Cluster, type Component } from "@tessera/api";
import { runCommand, type CommandResult } from "@tessera/base";
import { testRoot } from "@tessera/testing";
import { getOps, waitForOps } from "../support/ops.js";
import { TestPlatform } from "../support/platform.js";

const LAUNCHER = fileURLToPath(new URL("../../tessera", import.meta.url));
const KV_ADDON = fileURLToPath(new URL("../../packages/operator/test/fixtures/addons/kv/", import.meta.url));
const CLUSTER = "cli";

let platform: TestPlatform;
let ns: string;
let home: string;

/** Runs `tessera <args> --kubeconfig … -n <ns>` with its own TESSERA_HOME and no colour. */
function tessera(...args: string[]): Promise<CommandResult> {
  const { KUBECONFIG: _inherited, ...env } = process.env;
  return runCommand(LAUNCHER, [...args, "--kubeconfig", platform.cluster.kubeconfig, "-n", ns], {
    env: { ...env, TESSERA_HOME: home, NO_COLOR: "1" },
    timeoutMs: 300_000,
  });
}

function succeeded(result: CommandResult): CommandResult {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result;
}

/** The name of the OpsRequest a command reports it created. */
function created(result: CommandResult): string {
  const match = /OpsRequest [^/\s]+\/(\S+) created/.exec(result.stdout);
  assert.ok(match, `no OpsRequest named in:\n${result.stdout}`);
  return match[1]!;
}

async function pods(): Promise<string[]> {
  const list = await platform.client.list<V1Pod>("v1", "Pod", {
    namespace: ns,
    labelSelector: `${labels.component}=${CLUSTER}-kv`,
  });
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => p.metadata!.name!)
    .sort();
}

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  ns = await platform.cluster.createNamespace("cli-ops");
  home = mkdtempSync(join(testRoot(), "cli-ops-home-"));
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${CLUSTER}, namespace: ${ns} }
spec:
  clusterDef: kv
  topology: standalone
  terminationPolicy: Delete
  componentSpecs:
    - name: kv
      replicas: 2
      resources: { requests: { cpu: 10m, memory: 16Mi }, limits: { cpu: "1", memory: 128Mi } }
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
`);
  await platform.waitForPhase(ns, CLUSTER, "Running");
});

after(async () => {
  await platform?.stop();
});

test("cluster scale --replicas --wait adds an instance and reports the operation's end; ops list and describe show it", async () => {
  const result = succeeded(await tessera("cluster", "scale", CLUSTER, "--replicas", "3", "--wait"));
  const name = created(result);
  assert.match(name, new RegExp(`^${CLUSTER}-hscale-`));
  assert.match(result.stdout, /HorizontalScaling of cluster cli done \(1\/1\)/);
  assert.deepEqual(await pods(), ["cli-kv-0", "cli-kv-1", "cli-kv-2"]);
  const listed = succeeded(await tessera("ops", "list"));
  assert.match(listed.stdout, /^NAME\s+TYPE\s+CLUSTER\s+STATUS\s+PROGRESS\s+AGE$/m);
  assert.match(
    listed.stdout,
    new RegExp(`^${name}\\s+HorizontalScaling\\s+${CLUSTER}\\s+Succeed\\s+1/1\\s`, "m"),
  );
  const described = succeeded(await tessera("ops", "describe", name));
  assert.match(described.stdout, /^Status:\s+Succeed \(Succeeded\)$/m);
  assert.match(described.stdout, /^scale kv\s+Succeed/m);
  assert.match(described.stdout, /^cli-kv-2\s+kv\s+Create\s+Succeed/m);
  assert.match(described.stdout, /StepSucceeded/);
});

test("cluster restart, switchover, stop and start run to their end with --wait", async () => {
  succeeded(await tessera("cluster", "restart", CLUSTER, "--wait"));
  const component = await platform.client.get<Component>({
    apiVersion: API_VERSION,
    kind: "Component",
    namespace: ns,
    name: `${CLUSTER}-kv`,
  });
  const candidate = (await pods()).find((p) => p !== component.status?.ha?.primary)!;
  await platform.waitForPhase(ns, CLUSTER, "Running");
  succeeded(await tessera("cluster", "switchover", CLUSTER, "--candidate", candidate, "--wait"));
  await assertPrimary(candidate);
  succeeded(await tessera("cluster", "stop", CLUSTER, "--wait"));
  assert.deepEqual(await pods(), []);
  succeeded(await tessera("cluster", "start", CLUSTER, "--wait"));
  assert.equal((await pods()).length, 3);

  async function assertPrimary(primary: string) {
    const current = await platform.client.get<Component>({
      apiVersion: API_VERSION,
      kind: "Component",
      namespace: ns,
      name: `${CLUSTER}-kv`,
    });
    assert.equal(current.status?.ha?.primary, primary);
  }
});

test("bad requests are refused with the reason: no change to make (exit 2), or one the cluster's definition forbids", async () => {
  const nothing = await tessera("cluster", "scale", CLUSTER);
  assert.equal(nothing.code, 2, nothing.stderr);
  assert.match(nothing.stderr, /nothing to scale: set --replicas/);
  const tooMany = await tessera("cluster", "scale", CLUSTER, "--replicas", "9");
  assert.equal(tooMany.code, 1, tooMany.stderr);
  assert.match(tooMany.stderr, /the HorizontalScaling was refused: .*9 instances is outside 1\.\.7/);
  const unknown = await tessera("cluster", "switchover", CLUSTER, "--candidate", "cli-kv-9");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /"cli-kv-9" is not an instance of component kv/);
});

test("cluster reconfigure --set --wait applies the parameters; no --set, an unknown parameter or a value outside the schema is refused", async () => {
  await platform.waitForPhase(ns, CLUSTER, "Running");
  const done = succeeded(
    await tessera(
      "cluster",
      "reconfigure",
      CLUSTER,
      "--set",
      "greeting=hi there",
      "--set",
      "cache_entries=5",
      "--wait",
    ),
  );
  assert.match(created(done), new RegExp(`^${CLUSTER}-reconfigure-`));
  assert.match(done.stdout, /Reconfiguring of cluster cli done/);
  const cluster = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: CLUSTER,
  });
  assert.deepEqual(cluster.spec.componentSpecs[0]!.parameters, { greeting: "hi there", cache_entries: "5" });
  const nothing = await tessera("cluster", "reconfigure", CLUSTER);
  assert.equal(nothing.code, 2, nothing.stderr);
  assert.match(nothing.stderr, /nothing to change: give at least one --set name=value/);
  const unknown = await tessera("cluster", "reconfigure", CLUSTER, "--set", "colour=blue");
  assert.equal(unknown.code, 1, unknown.stderr);
  assert.match(
    unknown.stderr,
    /the Reconfiguring was refused: .*parameters\.colour: ComponentDefinition "kv-1" has no parameter "colour"/,
  );
  const outside = await tessera("cluster", "reconfigure", CLUSTER, "--set", "cache_entries=-1");
  assert.equal(outside.code, 1, outside.stderr);
  assert.match(outside.stderr, /parameters\.cache_entries: -1 is outside 0\.\.1000000/);
});

test("cluster run-op lists the addon's operations and runs one with --param --wait; cluster upgrade to a version the addon does not allow is refused", async () => {
  const listed = succeeded(await tessera("cluster", "run-op", CLUSTER)).stdout;
  assert.match(
    listed,
    /^note\s+each\s+text: string, times\?: integer, shout\?: boolean, level\?: info\|warn\s+appends a note/m,
  );
  // An operation needs the cluster Running: the previous test's may still be settling on a loaded node.
  await platform.waitForPhase(ns, CLUSTER, "Running");
  const run = succeeded(
    await tessera("cluster", "run-op", CLUSTER, "note", "--param", "text=from the CLI", "--wait"),
  );
  const done = await getOps(platform.client, ns, created(run));
  assert.equal(done.status?.phase, "Succeed");
  assert.deepEqual(done.spec.custom, {
    componentName: "kv",
    opsName: "note",
    parameters: { text: "from the CLI" },
  });
  const malformed = await tessera("cluster", "run-op", CLUSTER, "note", "--param", "text");
  assert.equal(malformed.code, 2, malformed.stderr);
  assert.match(malformed.stderr, /--param text: expected name=value, e.g. --param database=app/);

  const nothing = await tessera("cluster", "upgrade", CLUSTER);
  assert.equal(nothing.code, 2, nothing.stderr);
  const down = await tessera("cluster", "upgrade", CLUSTER, "--version", "1.0");
  assert.equal(down.code, 1, down.stderr);
  assert.match(down.stderr, /the Upgrade was refused: .*does not let kv upgrade from 1\.1 to 1\.0/);
});

test("ops cancel: a queued operation never starts, a running resize is put back", async () => {
  const nodes = await platform.client.list<V1Node>("v1", "Node");
  const cpu = nodes.items[0]!.status!.allocatable!.cpu!;
  // The whole node's CPU per instance: allowed, yet never free beside the other instances.
  const resize = created(succeeded(await tessera("cluster", "scale", CLUSTER, "--cpu", cpu)));
  await waitForOps(platform.client, ns, resize, "Running");
  const stop = created(succeeded(await tessera("cluster", "stop", CLUSTER)));
  const queued = succeeded(await tessera("ops", "cancel", stop, "--wait"));
  assert.match(queued.stdout, /ended Cancelled: cancelled before it started/);
  assert.equal((await getOps(platform.client, ns, stop)).status?.startTimestamp, undefined);
  const running = succeeded(await tessera("ops", "cancel", resize, "--wait"));
  assert.match(running.stdout, /ended Cancelled: cancelled; resources back as before/);
  const cluster = await platform.client.get<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace: ns,
    name: CLUSTER,
  });
  assert.deepEqual(cluster.spec.componentSpecs[0]!.resources, {
    requests: { cpu: "10m", memory: "16Mi" },
    limits: { cpu: "1", memory: "128Mi" },
  });
  assert.notEqual(cluster.spec.componentSpecs[0]!.stop, true, "the cancelled stop never ran");
});
