// The tessera CLI driven as a user drives it: the repository's launcher run
// as a process, against a playground it starts itself (on a network slot of
// its own, so it never collides with other suites or a developer's
// playground), with the real psql and kubectl.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { API_VERSION, labels, type Cluster, type Component, type InstanceSet } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { cleanupNode } from "@tessera/hostlet";
import { runCommand, type CommandResult } from "@tessera/base";
import { OperatorProcess, playgroundDown } from "@tessera/playground";
import { kubeBinDir } from "@tessera/control-plane/paths";
import { serviceAccountToken } from "../support/console.js";
import { TestCluster, acquireNetworkSlot, testRoot, type NetworkSlot } from "@tessera/testing";

const LAUNCHER = fileURLToPath(new URL("../../tessera", import.meta.url));
const KUBECTL = join(kubeBinDir(), "kubectl");

interface RunOptions {
  home: string;
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs `tessera <args>` with its own TESSERA_HOME, no colour, and no inherited $KUBECONFIG. */
function tessera(args: string[], options: RunOptions): Promise<CommandResult> {
  const { KUBECONFIG: _inherited, ...env } = process.env;
  return runCommand(LAUNCHER, args, {
    env: { ...env, TESSERA_HOME: options.home, NO_COLOR: "1", ...options.env },
    input: options.input,
    timeoutMs: options.timeoutMs ?? 120_000,
  });
}

function succeeded(result: CommandResult): CommandResult {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result;
}

/** The line printed after `heading`, trimmed. */
function lineAfter(output: string, heading: RegExp): string {
  const lines = output.split("\n");
  const index = lines.findIndex((line) => heading.test(line));
  assert.ok(index >= 0 && lines[index + 1], `no line after ${heading} in:\n${output}`);
  return lines[index + 1]!.trim();
}

describe("tessera on a playground it starts", () => {
  let home: string;
  let slot: NetworkSlot;
  let kubeconfig: string;
  const run = (args: string[], options: Omit<RunOptions, "home"> = {}) => tessera(args, { ...options, home });
  const kubectl = (args: string[]) => runCommand(KUBECTL, ["--kubeconfig", kubeconfig, ...args]);

  before(() => {
    home = mkdtempSync(join(testRoot(), "cli-home-"));
    slot = acquireNetworkSlot();
  });

  after(async () => {
    if (home) await playgroundDown(join(home, "playground"), true);
    if (slot) {
      await cleanupNode(slot.nodeName);
      slot.release();
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("up --demo starts the playground and a running demo cluster, and prints a psql command that works", async () => {
    const network = [
      "--node-name",
      slot.nodeName,
      "--pod-cidr",
      slot.podCIDR,
      "--service-cidr",
      slot.serviceCIDR,
    ];
    const up = succeeded(await run(["up", "--demo", ...network, "--timeout", "8m"], { timeoutMs: 600_000 }));
    assert.match(up.stderr, /✔ control plane/);
    assert.match(up.stderr, /✔ operator/);
    assert.match(up.stdout, /The playground is ready/);
    kubeconfig = /export KUBECONFIG=(\S+)/.exec(up.stdout)![1]!;
    assert.ok(existsSync(kubeconfig), up.stdout);
    assert.match(up.stdout, new RegExp(`export PATH=${kubeBinDir()}`));
    const psql = lineAfter(up.stdout, /^or from any shell/);
    assert.match(psql, /^PGPASSWORD="\$\(.*kubectl.*\)" psql 'host=127\.\d+\.\d+\.\d+ port=5432 /);
    assert.doesNotMatch(up.stdout, /PGPASSWORD=[A-Za-z0-9]{8,}/, "the password itself is never printed");
    const session = succeeded(
      await runCommand("bash", ["-c", psql], {
        input:
          "create table greetings (text text); insert into greetings values ('hello'); select pg_is_in_recovery();",
      }),
    );
    assert.match(session.stdout, /^\s*f\s*$/m, "the command reaches the primary");
  });

  test("up again is harmless and says so", async () => {
    const again = succeeded(await run(["up"]));
    assert.match(again.stdout, /already running/);
    const clusters = JSON.parse(succeeded(await run(["cluster", "list", "-o", "json"])).stdout) as Cluster[];
    assert.deepEqual(
      clusters.map((c) => c.metadata.name),
      ["demo"],
    );
  });

  test("status reports the playground, control plane, node, operator and addons healthy", async () => {
    const status = succeeded(await run(["status"]));
    for (const part of ["playground", "control plane", `node ${slot.nodeName}`, "operator", "addons"])
      assert.match(status.stdout, new RegExp(`^${part}\\s+healthy`, "m"), status.stdout);
    const json = JSON.parse(succeeded(await run(["status", "-o", "json"])).stdout) as { healthy: boolean };
    assert.equal(json.healthy, true);
  });

  test("kubectl with the printed kubeconfig sees the same clusters, pods and roles", async () => {
    // A loaded machine may have an instance between probes: wait for every role to be known.
    const cliRoles = await waitFor(
      async () => {
        const described = JSON.parse(
          succeeded(await run(["cluster", "describe", "demo", "-o", "json"])).stdout,
        ) as { components: { instances: { name: string; role: string }[] }[] };
        const roles = Object.fromEntries(described.components[0]!.instances.map((i) => [i.name, i.role]));
        return Object.values(roles).sort().join() === "primary,secondary,secondary" ? roles : undefined;
      },
      { description: "the demo's instances to be a primary and two secondaries", timeoutMs: 60_000 },
    );
    const clusters = JSON.parse(succeeded(await kubectl(["get", "clusters", "-A", "-o", "json"])).stdout) as {
      items: Cluster[];
    };
    assert.deepEqual(
      clusters.items.map((c) => `${c.metadata.namespace}/${c.metadata.name} ${c.status?.phase}`),
      ["default/demo Running"],
    );
    const pods = JSON.parse(
      succeeded(await kubectl(["get", "pods", "-n", "default", "-l", `${labels.cluster}=demo`, "-o", "json"]))
        .stdout,
    ) as { items: V1Pod[] };
    const kubectlRoles = Object.fromEntries(
      pods.items.map((p) => [p.metadata!.name!, p.metadata!.labels![labels.role]]),
    );
    assert.deepEqual(kubectlRoles, cliRoles);
  });

  test("a replica serves what was written through the demo's primary (connect -i)", async () => {
    await waitFor(
      async () => {
        const read = await run(["cluster", "connect", "demo", "-i", "1"], {
          input: "select text from greetings;",
        });
        return read.code === 0 && /hello/.test(read.stdout);
      },
      { description: "the greeting to reach replica 1", timeoutMs: 60_000, intervalMs: 1000 },
    );
  });

  test("cluster create, list, describe, connect --show, connect and delete", async () => {
    const created = succeeded(
      await run(
        ["cluster", "create", "postgresql", "solo", "--topology", "standalone", "--memory", "256Mi"].concat([
          "--storage",
          "2Gi",
          "--wait",
          "--timeout",
          "5m",
        ]),
        { timeoutMs: 360_000 },
      ),
    );
    assert.match(created.stdout, /cluster default\/solo created: postgresql\/standalone: postgresql 15 × 1/);

    const listed = succeeded(await run(["cluster", "list"])).stdout;
    assert.match(listed, /^NAME\s+ENGINE\s+TOPOLOGY\s+VERSION\s+READY\s+STATUS\s+AGE$/m);
    assert.match(listed, /^solo\s+postgresql\s+standalone\s+15\s+1\/1\s+Running\s+/m);
    assert.match(listed, /^demo\s+postgresql\s+replication\s+15\s+3\/3\s+Running\s+/m);
    const all = succeeded(await run(["cluster", "list", "-A"])).stdout;
    assert.match(all, /^default\s+solo\s+/m);

    const described = succeeded(await run(["cluster", "describe", "solo"])).stdout;
    assert.match(described, /^Status:\s+Running/m);
    assert.match(described, /^solo-postgresql-0\s+primary\s+Running\s+\d+\s+\S+\s+127\.\d+\.\d+\.\d+/m);
    assert.match(
      described,
      /^postgresql\s+solo-postgresql-rw\s+ClusterIP\s+127\.\d+\.\d+\.\d+\s+postgresql:5432/m,
    );
    assert.match(described, /^Cluster solo\s+Ready\s+True\s+Running/m);

    const shown = succeeded(await run(["cluster", "connect", "solo", "--show"])).stdout;
    const url = /^url:\s+(postgresql:\/\/postgres:\S+@\S+\/postgres)$/m.exec(shown)?.[1];
    assert.ok(url, shown);
    const command = /^command:\s+(.+)$/m.exec(shown)![1]!;
    const viaShow = succeeded(
      await runCommand("bash", ["-c", command], { input: "select 40 + 2 as answer;" }),
    );
    assert.match(viaShow.stdout, /^\s*42\s*$/m);
    const viaUrl = succeeded(await runCommand("psql", [url!, "-Atc", "select current_user"]));
    assert.equal(viaUrl.stdout.trim(), "postgres");
    const viaConnect = succeeded(await run(["cluster", "connect", "solo"], { input: "select 'connected';" }));
    assert.match(viaConnect.stdout, /connected/);
    const withArgs = succeeded(await run(["cluster", "connect", "solo", "--", "-Atc", "select 6 * 7"]));
    assert.equal(withArgs.stdout.trim(), "42");

    const deleted = succeeded(await run(["cluster", "delete", "solo", "--wait"], { timeoutMs: 360_000 }));
    assert.match(deleted.stdout, /being deleted \(termination policy Delete/);
    const gone = await run(["cluster", "describe", "solo"]);
    assert.equal(gone.code, 1);
    const pvcs = succeeded(
      await kubectl(["get", "pvc", "-n", "default", "-l", `${labels.cluster}=solo`, "-o", "name"]),
    );
    assert.equal(pvcs.stdout.trim(), "", "Delete policy removes the volumes");
  });

  test("--kubeconfig chooses the cluster, wherever the playground is", async () => {
    const elsewhere = mkdtempSync(join(testRoot(), "cli-other-home-"));
    // A user with no playground and no ~/.kube/config.
    const env = { HOME: elsewhere, TESSERA_KUBE_BIN_DIR: kubeBinDir() };
    try {
      const none = await tessera(["cluster", "list"], { home: elsewhere, env });
      assert.equal(none.code, 1);
      assert.match(
        none.stderr,
        /^error: no Kubernetes cluster to talk to: start the playground with `tessera up`/,
      );
      const listed = succeeded(
        await tessera(["--kubeconfig", kubeconfig, "cluster", "list"], { home: elsewhere, env }),
      );
      assert.match(listed.stdout, /^demo\s+/m);
      const withContext = ["--kubeconfig", kubeconfig, "--context", "tessera", "cluster", "list"];
      assert.match(succeeded(await tessera(withContext, { home: elsewhere, env })).stdout, /^demo\s+/m);
      const noContext = await tessera(["--kubeconfig", kubeconfig, "--context", "nope", "cluster", "list"], {
        home: elsewhere,
        env,
      });
      assert.equal(noContext.code, 1);
      assert.match(
        noContext.stderr,
        /^error: context "nope" is not in kubeconfig .*; contexts: "tessera"\n$/,
      );
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test("bad input gets a one-line error and a non-zero exit, and changes nothing", async () => {
    const cases: [string[], number, RegExp][] = [
      [
        ["cluster", "create", "mongodb", "x"],
        2,
        /unknown engine "mongodb"; installed engines: .*"postgresql"/,
      ],
      [
        ["cluster", "create", "postgresql", "x", "--replicas", "99"],
        2,
        /--replicas 99: postgresql allows 1 to 16/,
      ],
      [
        ["cluster", "create", "postgresql", "x", "--replicas", "three"],
        2,
        /'three' is invalid. expected a whole number/,
      ],
      [
        ["cluster", "create", "postgresql", "x", "--topology", "ring"],
        2,
        /--topology ring: .*"replication", "standalone"/,
      ],
      [
        ["cluster", "create", "postgresql", "x", "--version", "9.6"],
        2,
        /--version 9\.6: postgresql offers "15"/,
      ],
      [
        ["cluster", "create", "postgresql", "x", "--memory", "lots"],
        2,
        /--memory lots: not a Kubernetes quantity/,
      ],
      [
        ["cluster", "create", "postgresql", "x", "--termination-policy", "Never"],
        2,
        /"DoNotTerminate", "Delete"/,
      ],
      [["cluster", "create", "postgresql", "Not_A_Name"], 2, /must be a DNS label/],
      [["cluster", "create", "postgresql", "demo"], 1, /cluster "demo" already exists in namespace default/],
      [["cluster", "create", "postgresql", "x", "-n", "nowhere"], 1, /namespace "nowhere" not found/],
      [["cluster", "create", "postgresql"], 2, /missing required argument 'name'/],
      [
        ["cluster", "describe", "missing"],
        1,
        /^error: cluster "missing" not found in namespace default; list clusters with `tessera cluster list -A`$/,
      ],
      [["cluster", "connect", "missing"], 1, /cluster "missing" not found/],
      [["cluster", "delete", "missing"], 1, /cluster "missing" not found/],
      [["cluster", "connect", "demo", "-i", "9"], 1, /instance "9" is not an instance of demo-postgresql/],
      [["cluster", "list", "-o", "xml"], 2, /argument 'xml' is invalid/],
      [["cluster", "frobnicate"], 2, /unknown command 'frobnicate'/],
      [["addon", "describe", "mongodb"], 2, /unknown addon "mongodb"/],
    ];
    // Three at a time: independent invocations, and the machine has few cores.
    const results: CommandResult[] = [];
    for (let i = 0; i < cases.length; i += 3)
      results.push(...(await Promise.all(cases.slice(i, i + 3).map(([args]) => run(args)))));
    for (const [i, [args, code, message]] of cases.entries()) {
      const result = results[i]!;
      const what = `tessera ${args.join(" ")}`;
      assert.equal(result.code, code, `${what}: exit ${result.code}, stderr: ${result.stderr}`);
      // A note on the cluster's state (e.g. not Running on a loaded machine) may precede the error.
      const errors = result.stderr
        .trim()
        .split("\n")
        .filter((line) => !line.startsWith("note: "));
      assert.equal(errors.length, 1, `${what}: one line, got:\n${result.stderr}`);
      assert.match(errors[0]!, message, what);
      assert.equal(result.stdout, "", `${what}: nothing on stdout`);
    }
    const names = JSON.parse(succeeded(await kubectl(["get", "clusters", "-A", "-o", "json"])).stdout) as {
      items: Cluster[];
    };
    assert.deepEqual(
      names.items.map((c) => c.metadata.name),
      ["demo"],
    );
  });

  test("addons, dry runs and completion come from the installed definitions", async () => {
    const addons = succeeded(await run(["addon", "list"])).stdout;
    assert.match(addons, /^postgresql\s+postgresql\s+replication \(default\), standalone\s+15\s+/m);
    const addon = succeeded(await run(["addon", "describe", "postgresql"])).stdout;
    assert.match(
      addon,
      /^postgresql-15\s+postgresql\s+operator\s+1\.\.16\s+primary \(writable\), secondary\s+/m,
    );
    const dryRun = succeeded(
      await run(["cluster", "create", "postgresql", "draft", "--replicas", "2", "--dry-run", "-o", "yaml"]),
    );
    assert.match(dryRun.stdout, /replicas: 2/);
    assert.equal((await kubectl(["get", "cluster", "draft"])).code, 1, "a dry run creates nothing");
    assert.match(
      succeeded(await run(["completion", "bash"])).stdout,
      /complete -o default -F _tessera_complete tessera/,
    );
    assert.match(succeeded(await run(["completion", "zsh"])).stdout, /compdef _tessera tessera/);
    const engines = succeeded(await run(["__complete", "--", "cluster", "create", ""])).stdout.split("\n");
    assert.ok(engines.includes("postgresql"), engines.join());
    const topologies = succeeded(
      await run(["__complete", "--", "cluster", "create", "postgresql", "x", "--topology", ""]),
    ).stdout;
    assert.deepEqual(topologies.trim().split("\n"), ["replication", "standalone"]);
    const clusters = succeeded(await run(["__complete", "--", "cluster", "describe", "d"])).stdout;
    assert.equal(clusters.trim(), "demo");
  });

  test("down stops every playground process and keeps the data; down --purge deletes it", async () => {
    const dir = join(home, "playground");
    assert.match(succeeded(await run(["down"])).stdout, /The playground is stopped; its data stays/);
    const leftovers = await runCommand("pgrep", ["-af", dir]);
    assert.equal(leftovers.stdout, "", "no playground process survives `down`");
    const status = await run(["status"]);
    assert.equal(status.code, 1);
    assert.match(status.stdout, /^playground\s+unhealthy\s+not running; start it with/m);
    assert.ok(existsSync(join(dir, "control-plane", "etcd")));
    succeeded(await run(["down", "--purge"]));
    assert.equal(existsSync(dir), false);
  });
});

describe("tessera install into a Kubernetes cluster", () => {
  let cluster: TestCluster;
  let home: string;
  let operator: OperatorProcess | undefined;
  const run = (args: string[], options: Omit<RunOptions, "home"> = {}) =>
    tessera(["--kubeconfig", cluster.kubeconfig, ...args], { ...options, home });
  const SERVICE_ACCOUNT = "system:serviceaccount:tessera-system:tessera-operator";

  before(async () => {
    cluster = await TestCluster.start({ controllerManager: true });
    home = mkdtempSync(join(testRoot(), "cli-install-home-"));
  });

  after(async () => {
    await operator?.stop();
    await cluster?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("installs CRDs, RBAC, the operator Deployment and Service, and the bundled addons, idempotently", async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const installed = succeeded(await run(["install", "--no-wait"]));
      assert.match(
        installed.stdout,
        /Tessera is installed: operator tessera\/operator:0\.1\.0 in namespace tessera-system/,
      );
    }
    const deployment = JSON.parse(
      succeeded(
        await cluster.kubectl([
          "-n",
          "tessera-system",
          "get",
          "deployment",
          "tessera-operator",
          "-o",
          "json",
        ]),
      ).stdout,
    ) as {
      spec: {
        replicas: number;
        template: { spec: { serviceAccountName: string; containers: { args: string[] }[] } };
      };
    };
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deployment.spec.template.spec.serviceAccountName, "tessera-operator");
    assert.ok(
      deployment.spec.template.spec.containers[0]!.args.includes("--webhook-service=tessera-operator"),
    );
    succeeded(await cluster.kubectl(["-n", "tessera-system", "get", "service", "tessera-operator"]));
    succeeded(await cluster.kubectl(["get", "crd", "clusters.tessera.dev", "instancesets.tessera.dev"]));
    assert.match(
      succeeded(await cluster.kubectl(["get", "clusterdefinitions", "-o", "name"])).stdout,
      /postgresql/,
    );
    succeeded(
      await run(["install", "--no-wait", "--no-addons", "--image", "registry.example/tessera/operator:dev"]),
    );
    const image = await cluster.kubectl([
      "-n",
      "tessera-system",
      "get",
      "deployment",
      "tessera-operator",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].image}",
    ]);
    assert.equal(image.stdout, "registry.example/tessera/operator:dev");
  });

  test("the operator's service account may do what the operator does and nothing more", async () => {
    const can = async (verb: string, resource: string, extra: string[] = []) =>
      (
        await cluster.kubectl(["auth", "can-i", verb, resource, "--as", SERVICE_ACCOUNT, ...extra])
      ).stdout.trim();
    for (const [verb, resource, extra] of [
      ["create", "pods", ["--subresource=exec", "-n", "default"]],
      ["patch", "pods", ["-n", "default"]],
      ["update", "clusters.tessera.dev/status", ["-n", "default"]],
      ["delete", "persistentvolumeclaims", ["-n", "default"]],
      ["create", "secrets", ["-n", "default"]],
      ["update", "leases.coordination.k8s.io/tessera-operator", ["-n", "tessera-system"]],
      ["update", "backuprepos.tessera.dev", ["--subresource=status"]],
      ["delete", "pods", ["-n", "tessera-system"]],
      ["update", "tenants.tessera.dev", ["--subresource=status"]],
      ["bind", "clusterroles.rbac.authorization.k8s.io/tessera-tenant-admin", []],
      // A per-tenant role letting its users read their Tenant; only rules the operator holds.
      ["create", "clusterroles.rbac.authorization.k8s.io", []],
    ] as const)
      assert.equal(await can(verb, resource, [...extra]), "yes", `${verb} ${resource}`);
    for (const [verb, resource, extra] of [
      ["list", "secrets", ["-n", "default"]],
      ["delete", "nodes", []],
      ["create", "deployments.apps", ["-n", "default"]],
      ["escalate", "clusterroles.rbac.authorization.k8s.io", []],
      ["bind", "clusterroles.rbac.authorization.k8s.io/cluster-admin", []],
      ["delete", "namespaces", []],
      ["update", "leases.coordination.k8s.io/kube-controller-manager", ["-n", "kube-system"]],
      ["create", "clusterdefinitions.tessera.dev", []],
      ["update", "backuprepos.tessera.dev", []],
      // Owned objects go by garbage collection: the operator never deletes them itself.
      ["delete", "instancesets.tessera.dev", ["-n", "default"]],
      ["patch", "validatingwebhookconfigurations.admissionregistration.k8s.io/other-webhook", []],
    ] as const)
      assert.equal(await can(verb, resource, [...extra]), "no", `${verb} ${resource}`);
  });

  test("the operator runs with only its service account's permissions", async () => {
    const kubeconfig = await serviceAccountKubeconfig(cluster, home);
    operator = await OperatorProcess.start({
      kubeconfig,
      logDir: home,
      name: "operator-rbac",
      leaseDurationSeconds: 3,
    });
    // The webhook refuses claims without a StorageClass when the cluster has no default one.
    await cluster.client.apply(
      {
        apiVersion: "storage.k8s.io/v1",
        kind: "StorageClass",
        metadata: {
          name: "rbac-default",
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        },
        provisioner: "kubernetes.io/no-provisioner",
        volumeBindingMode: "WaitForFirstConsumer",
      },
      "tessera-test",
    );
    // Created through the CLI with the admin kubeconfig; the operator's webhook admits it.
    succeeded(await run(["cluster", "create", "postgresql", "rbac", "--replicas", "2"]));
    // Without a node the pods stay Pending: every object the operator creates is there.
    const ns = "default";
    await waitFor(
      async () => {
        const list = async <T>(apiVersion: string, kind: string) =>
          (
            await cluster.client.list<T & { metadata?: object }>(apiVersion, kind, {
              namespace: ns,
              labelSelector: `${labels.cluster}=rbac`,
            })
          ).items;
        const [components, sets, pods, services, secrets, claims] = await Promise.all([
          list<Component>(API_VERSION, "Component"),
          list<InstanceSet>(API_VERSION, "InstanceSet"),
          list<V1Pod>("v1", "Pod"),
          list<V1Pod>("v1", "Service"),
          list<V1Secret>("v1", "Secret"),
          list<V1Pod>("v1", "PersistentVolumeClaim"),
        ]);
        return (
          components.length === 1 &&
          sets.length === 1 &&
          pods.length === 2 &&
          services.length === 3 &&
          secrets.length === 4 /* three accounts and the agent's token */ &&
          claims.length === 2
        );
      },
      { description: "the operator to create the cluster's objects", timeoutMs: 60_000, intervalMs: 500 },
    ).catch((error: Error) => {
      error.message += `\noperator log:\n${operator!.logTail(30)}`;
      throw error;
    });
    succeeded(await run(["cluster", "delete", "rbac", "--wait", "--timeout", "2m"], { timeoutMs: 150_000 }));
    assert.doesNotMatch(operator.logTail(500), /forbidden/i, "no request of the operator was refused");
  });
});

/** A kubeconfig with the token of the operator's ServiceAccount (a token Secret, as Kubernetes 1.20 makes them). */
async function serviceAccountKubeconfig(cluster: TestCluster, dir: string): Promise<string> {
  const token = await serviceAccountToken(cluster.client, "tessera-system", "tessera-operator");
  const path = join(dir, "operator-sa.kubeconfig");
  writeFileSync(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "test",
          cluster: {
            server: cluster.plane.server,
            "certificate-authority-data": Buffer.from(cluster.plane.caCertPem).toString("base64"),
          },
        },
      ],
      users: [{ name: "tessera-operator", user: { token } }],
      contexts: [{ name: "test", context: { cluster: "test", user: "tessera-operator" } }],
      "current-context": "test",
    }),
    { mode: 0o600 },
  );
  return path;
}
