import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_ADDON_NAMESPACE, installAddon, installCrds, loadAddon } from "@tessera/addons";
import { runCommand, type CommandResult } from "@tessera/base";
import { kubeBinDir } from "@tessera/control-plane/paths";
import { TestCluster, testRoot } from "@tessera/testing";

// `kubectl tessera …` run by kubectl 1.20 itself: kubectl finds the
// kubectl-tessera launcher on PATH and hands it the rest of the command line.

const LAUNCHER = fileURLToPath(new URL("../../../../kubectl-tessera", import.meta.url));
const KV_ADDON = fileURLToPath(new URL("../../../operator/test/fixtures/addons/kv/", import.meta.url));

let cluster: TestCluster;
let dir: string;

before(async () => {
  cluster = await TestCluster.start();
  await cluster.client.apply(
    { apiVersion: "v1", kind: "Namespace", metadata: { name: DEFAULT_ADDON_NAMESPACE } },
    "tessera-test",
  );
  await installCrds(cluster.client);
  await installAddon(cluster.client, loadAddon(KV_ADDON));
  dir = mkdtempSync(join(testRoot(), "kubectl-plugin-"));
  // A link to the launcher, as a user would put one on PATH.
  mkdirSync(join(dir, "bin"));
  symlinkSync(LAUNCHER, join(dir, "bin", "kubectl-tessera"));
});

after(async () => {
  await cluster?.stop();
});

/**
 * The caller's PATH without npm's `node_modules/.bin` entries: under `npm test` they hold the
 * package's own kubectl-tessera bin, which kubectl would report as a second, shadowed plugin.
 */
function systemPath(): string[] {
  return (process.env.PATH ?? "").split(":").filter((entry) => entry && !entry.endsWith("node_modules/.bin"));
}

/** Runs `kubectl <args>` with the plugin on PATH, a home without ~/.kube and no inherited $KUBECONFIG. */
function kubectl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
  const { KUBECONFIG: _inherited, TESSERA_COMMAND: _command, ...inherited } = process.env;
  return runCommand(join(kubeBinDir(), "kubectl"), args, {
    env: {
      ...inherited,
      PATH: [join(dir, "bin"), kubeBinDir(), ...systemPath()].join(":"),
      HOME: dir,
      // The launcher looks for the control plane under $HOME unless told where it is.
      TESSERA_KUBE_BIN_DIR: kubeBinDir(),
      TESSERA_HOME: join(dir, "tessera"),
      NO_COLOR: "1",
      ...env,
    },
    timeoutMs: 120_000,
  });
}

function succeeded(result: CommandResult): CommandResult {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result;
}

test("kubectl finds the plugin and runs the tessera CLI under its name", async () => {
  assert.match(succeeded(await kubectl(["plugin", "list"])).stdout, /kubectl-tessera$/m);
  assert.match(succeeded(await kubectl(["tessera", "version"])).stdout, /^\d+\.\d+\.\d+\n$/);
  assert.match(succeeded(await kubectl(["tessera", "--help"])).stdout, /^Usage: kubectl tessera /m);
});

test("as a plugin the CLI talks to the cluster of $KUBECONFIG", async () => {
  const listed = succeeded(await kubectl(["tessera", "addon", "list"], { KUBECONFIG: cluster.kubeconfig }));
  assert.match(listed.stdout, /^kv\s/m);
});

test("kubectl's --kubeconfig and --context flags win over $KUBECONFIG, as for kubectl", async () => {
  const elsewhere = { KUBECONFIG: join(dir, "missing-kubeconfig") };
  const listed = succeeded(
    await kubectl(["tessera", "addon", "list", "--kubeconfig", cluster.kubeconfig], elsewhere),
  );
  assert.match(listed.stdout, /^kv\s/m);
  const wrongContext = await kubectl(
    ["tessera", "addon", "list", "--kubeconfig", cluster.kubeconfig, "--context", "nope"],
    elsewhere,
  );
  assert.notEqual(wrongContext.code, 0);
  assert.match(wrongContext.stderr, /context "nope" is not in kubeconfig/);
});

test("without $KUBECONFIG or ~/.kube/config the plugin says what kubectl would need", async () => {
  const none = await kubectl(["tessera", "addon", "list"]);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /set \$KUBECONFIG or pass --kubeconfig, as for kubectl/);
});
