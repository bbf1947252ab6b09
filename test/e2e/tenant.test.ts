// Two tenants on a playground node with real PostgreSQL servers: tenant A's user creates her
// database with her own credentials; A's database server cannot reach B's, by its Service or its
// pod IP, while it reaches its own and the operator keeps managing both; and A's user is refused
// B's clusters, logs and exec by the apiserver.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { labels } from "@tessera/api";
import { runCommand, type CommandResult } from "@tessera/base";
import { kubeBinDir } from "@tessera/control-plane/paths";
import { waitFor } from "@tessera/kube";
import { TestPlatform } from "../support/platform.js";
import { postgresqlManifest } from "../support/postgresql.js";

const ADDON = fileURLToPath(new URL("../../addons/postgresql/", import.meta.url));
const TESSERA = fileURLToPath(new URL("../../packages/cli/bin/tessera.js", import.meta.url));
const KUBECTL = join(kubeBinDir(), "kubectl");
const A = "team-a";
const B = "team-b";
const CLUSTER = "db";
const POD = `${CLUSTER}-postgresql-0`;

let platform: TestPlatform;
let aliceConfig: string;

async function cli(args: string[]): Promise<string> {
  const result = await runCommand(
    process.execPath,
    [TESSERA, "--kubeconfig", platform.cluster.kubeconfig, ...args],
    { env: { ...process.env, NO_COLOR: "1" } },
  );
  assert.equal(result.code, 0, `tessera ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

const asAlice = (args: string[], input?: string) =>
  runCommand(KUBECTL, ["--kubeconfig", aliceConfig, ...args], input === undefined ? {} : { input });

/**
 * What `psql` in A's database container gets from `host`: a connection with A's superuser password
 * prints 1 (A's own server); B's server, were it reachable, refuses the password instead; an
 * unreachable one times out.
 */
function psqlFromA(host: string): Promise<CommandResult> {
  return platform.cluster.kubectl([
    "exec",
    "-n",
    A,
    POD,
    "-c",
    "postgresql",
    "--",
    "sh",
    "-c",
    'PGPASSWORD="$POSTGRES_PASSWORD" PGCONNECT_TIMEOUT=3 psql -h "$1" -U postgres -d postgres -tAc "select 1"',
    "psql",
    host,
  ]);
}

async function rwService(namespace: string): Promise<string> {
  const service = await platform.client.get<V1Service>({
    apiVersion: "v1",
    kind: "Service",
    namespace,
    name: `${CLUSTER}-postgresql-rw`,
  });
  return service.spec!.clusterIP!;
}

before(async () => {
  platform = await TestPlatform.start({ addons: [ADDON] });
  await cli(["tenant", "create", A, "--admin", "alice", "--memory", "2Gi", "--clusters", "1", "--wait"]);
  await cli(["tenant", "create", B, "--admin", "bob", "--wait"]);
  aliceConfig = join(platform.cluster.dir, "alice.kubeconfig");
  await cli(["tenant", "kubeconfig", A, "--user", "alice", "--out", aliceConfig]);
});

after(async () => {
  await platform?.stop();
});

test("tenant A's user creates a PostgreSQL cluster in A; B's is created by the administrator", async () => {
  // The apiserver's RBAC cache may not have the tenant's bindings a moment after they were made.
  await waitFor(
    async () => (await asAlice(["apply", "-f", "-"], postgresqlManifest(A, CLUSTER, 1))).code === 0,
    { description: "alice to create a cluster in her tenant", timeoutMs: 15_000 },
  );
  await platform.apply(postgresqlManifest(B, CLUSTER, 1));
  await Promise.all([A, B].map((ns) => platform.waitForPhase(ns, CLUSTER, "Running", 150_000)));
});

test("A's database server reaches its own Service, not B's Service nor B's pod", async () => {
  const own = await psqlFromA(await rwService(A));
  assert.equal(own.stdout.trim(), "1", `A → A's rw Service: ${own.stderr}`);
  const podB = await platform.client.get<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace: B, name: POD });
  for (const [what, host] of [
    ["B's rw Service", await rwService(B)],
    ["B's pod IP", podB.status!.podIP!],
  ] as const) {
    const result = await psqlFromA(host);
    assert.notEqual(result.code, 0, `A → ${what} must fail`);
    assert.doesNotMatch(result.stderr, /authentication/, `A → ${what} reached B's server`);
    assert.match(result.stderr, /timeout expired|could not connect|Connection refused/, `A → ${what}`);
  }
});

test("the operator still manages both clusters: each Running with its primary labelled", async () => {
  for (const ns of [A, B]) {
    await platform.waitForPhase(ns, CLUSTER, "Running", 30_000);
    const [pod] = await platform.instances(ns, `${CLUSTER}-postgresql`);
    assert.equal(pod?.metadata?.labels?.[labels.role], "primary", `${ns}'s instance is the primary`);
  }
});

test("A's user is forbidden B's clusters, logs and exec", async () => {
  const refused: [string, string[]][] = [
    ["get clusters", ["get", "clusters", "-n", B]],
    ["logs", ["logs", "-n", B, POD, "-c", "postgresql"]],
    ["exec", ["exec", "-n", B, POD, "-c", "postgresql", "--", "true"]],
  ];
  for (const [what, args] of refused) {
    const result = await asAlice(args);
    assert.notEqual(result.code, 0, `${what} in B must be refused`);
    assert.match(result.stderr, /Forbidden|forbidden/, `${what} in B: ${result.stderr}`);
  }
  const own = await asAlice(["get", "clusters", "-n", A, "-o", "name"]);
  assert.equal(own.stdout.trim(), `cluster.tessera.dev/${CLUSTER}`, `alice lists her own: ${own.stderr}`);
});
