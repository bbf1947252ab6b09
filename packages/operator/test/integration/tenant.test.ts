import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { V1ClusterRole, V1Pod } from "@kubernetes/client-node";
import {
  API_VERSION,
  TENANT_ADMIN_ROLE,
  TENANT_LABEL,
  TENANT_VIEWER_ROLE,
  tenantGroups,
  type Backup,
  type Cluster,
  type OpsRequest,
  type Tenant,
} from "@tessera/api";
import { runCommand } from "@tessera/base";
import { ApiError, KubeClient, loadKubeConfig, waitFor, type KubernetesObject } from "@tessera/kube";
import { opsManifest } from "../../../../test/support/ops.js";
import type { TestPlatform } from "../../../../test/support/platform.js";
import { kvCluster, startOperatorEnv } from "../fixtures/env.js";

// Two tenants on one platform: what tenant A's user may and may not do (with a real client
// certificate from the cluster CA, authorised by the apiserver's RBAC), and the quota the webhook
// holds A to. Pods stay Pending (no node): RBAC and admission decide before any pod runs.

let env: TestPlatform;
let alice: KubeClient;

const A = "tenant-a";
const B = "tenant-b";

function tenantManifest(name: string, admin: string, quota: string, extra = ""): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: Tenant
metadata: { name: ${name} }
spec:
  displayName: Team ${name}
  administrators: { users: [${admin}] }
  quota: ${quota}
${extra}`;
}

async function tenant(name: string): Promise<Tenant> {
  return env.client.get<Tenant>({ apiVersion: API_VERSION, kind: "Tenant", name });
}

async function waitForReady(name: string): Promise<void> {
  await waitFor(async () => (await tenant(name)).status?.phase === "Ready", {
    description: `tenant ${name} to be Ready`,
    timeoutMs: 60_000,
  });
}

/** The HTTP status of a request as `client` makes it: 2xx as 200, or the apiserver's refusal code. */
async function statusOf(action: () => Promise<unknown>): Promise<number> {
  try {
    await action();
    return 200;
  } catch (error) {
    if (error instanceof ApiError) return error.statusCode;
    throw error;
  }
}

async function refusalOf(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (error) {
    if (error instanceof ApiError) return error.message;
    throw error;
  }
  assert.fail("the request was admitted");
}

const object = (manifest: string) => parse(manifest) as KubernetesObject;

const TESSERA = fileURLToPath(new URL("../../../cli/bin/tessera.js", import.meta.url));

async function cli(args: string[]): Promise<string> {
  const result = await runCommand(
    process.execPath,
    [TESSERA, "--kubeconfig", env.cluster.kubeconfig, ...args],
    {
      env: { ...process.env, NO_COLOR: "1" },
    },
  );
  assert.equal(result.code, 0, `tessera ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

before(async () => {
  env = await startOperatorEnv();
  // Tenant A as an administrator makes it with the CLI; B as a manifest.
  await cli([
    "tenant",
    "create",
    A,
    "--admin",
    "alice",
    "--memory",
    "1Gi",
    "--storage",
    "3Gi",
    "--clusters",
    "2",
    "--instances",
    "4",
    "--wait",
  ]);
  await env.apply(tenantManifest(B, "bob", "{ memory: 4Gi }"));
  await waitForReady(B);
  // The tenant roles aggregate their rules: the controller-manager fills them in.
  for (const role of [TENANT_ADMIN_ROLE, TENANT_VIEWER_ROLE]) {
    await waitFor(
      async () =>
        ((
          await env.client.get<V1ClusterRole & KubernetesObject>({
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRole",
            name: role,
          })
        ).rules?.length ?? 0) > 0,
      { description: `ClusterRole ${role} to aggregate its rules`, timeoutMs: 30_000 },
    );
  }
  // Alice's credentials: a client certificate the CLI issues from the cluster's CA.
  const kubeconfig = join(env.cluster.dir, "alice.kubeconfig");
  await cli(["tenant", "kubeconfig", A, "--user", "alice", "--out", kubeconfig]);
  alice = new KubeClient(loadKubeConfig(kubeconfig));
  await env.apply(kvCluster(B, "b-db", { replicas: 1 }));
});

after(async () => {
  alice?.close();
  await env?.stop();
});

test("a tenant gets a labelled namespace with its quota, limits, role bindings and network policy", async () => {
  const ns = await env.client.get({ apiVersion: "v1", kind: "Namespace", name: A });
  assert.equal(ns.metadata?.labels?.[TENANT_LABEL], A);
  assert.equal(ns.metadata?.ownerReferences?.[0]?.kind, "Tenant", "the namespace goes with the tenant");
  const quota = await env.client.get<KubernetesObject & { spec: { hard: Record<string, string> } }>({
    apiVersion: "v1",
    kind: "ResourceQuota",
    namespace: A,
    name: "tessera-tenant",
  });
  assert.equal(quota.spec.hard["requests.storage"], "3Gi");
  for (const kind of ["LimitRange", "NetworkPolicy"]) {
    const apiVersion = kind === "NetworkPolicy" ? "networking.k8s.io/v1" : "v1";
    const list = await env.client.list(apiVersion, kind, { namespace: A });
    assert.equal(list.items.length, 1, `one ${kind}`);
  }
  const bindings = await env.client.list<KubernetesObject & { subjects: { name: string }[] }>(
    "rbac.authorization.k8s.io/v1",
    "RoleBinding",
    { namespace: A, labelSelector: `${TENANT_LABEL}=${A}` },
  );
  const admins = bindings.items.find((b) => b.metadata?.name === "tessera-tenant-admins");
  assert.deepEqual(admins?.subjects.map((s) => s.name).sort(), ["alice", tenantGroups(A).admins].sort());
});

test("tenant A's user creates a cluster in A, and the tenant's usage counts it", async () => {
  // The apiserver's RBAC cache may not have the binding a moment after it was made.
  await waitFor(
    async () => (await statusOf(() => alice.create(object(kvCluster(A, "a-db", { replicas: 1 }))))) === 200,
    {
      description: "alice to create a cluster in her tenant",
      timeoutMs: 15_000,
    },
  );
  for (const kind of ["Cluster", "OpsRequest", "Backup"]) {
    assert.equal(
      await statusOf(() => alice.list(API_VERSION, kind, { namespace: A })),
      200,
      `list ${kind} in A`,
    );
  }
  assert.equal(await statusOf(() => alice.list("v1", "Secret", { namespace: A })), 200, "read A's secrets");
  assert.equal(
    await statusOf(() => alice.get({ apiVersion: API_VERSION, kind: "Tenant", name: A })),
    200,
    "read her tenant (its quota and usage)",
  );
  // The LimitRange admits the cluster's pods with their own requests, and reserves nothing for the rest.
  const pod = await waitFor(
    () =>
      env.client.find<V1Pod & KubernetesObject>({
        apiVersion: "v1",
        kind: "Pod",
        namespace: A,
        name: "a-db-kv-0",
      }),
    { description: "the cluster's pod in A", timeoutMs: 30_000 },
  );
  const [main, ...others] = pod.spec!.containers;
  assert.deepEqual(main!.resources?.requests, { cpu: "500m", memory: "256Mi" });
  for (const container of others) {
    const memory = container.resources?.requests?.memory;
    assert.notEqual(memory, "1Gi", `${container.name} does not reserve the tenant's whole memory`);
  }
  await waitFor(
    async () => {
      const usage = (await tenant(A)).status?.usage;
      return (
        usage?.clusters === 1 &&
        usage.instances === 1 &&
        usage.memory === "256Mi" &&
        usage.cpu === "500m" &&
        usage.storage === "1Gi"
      );
    },
    { description: "tenant A's usage to show the cluster", timeoutMs: 15_000 },
  );
});

test("tenant A's user is forbidden everything in tenant B's namespace", async () => {
  const inB = (kind: string, name?: string, apiVersion = "v1") => ({
    apiVersion,
    kind,
    namespace: B,
    name: name ?? "",
  });
  const forbidden: [string, () => Promise<unknown>][] = [
    ["list clusters", () => alice.list(API_VERSION, "Cluster", { namespace: B })],
    ["read a cluster", () => alice.get(inB("Cluster", "b-db", API_VERSION))],
    [
      "change a cluster",
      () =>
        alice.patch(inB("Cluster", "b-db", API_VERSION), { spec: { terminationPolicy: "WipeOut" } }, "merge"),
    ],
    ["delete a cluster", () => alice.delete(inB("Cluster", "b-db", API_VERSION))],
    ["create a cluster", () => alice.create(object(kvCluster(B, "intruder", { replicas: 1 })))],
    ["list secrets", () => alice.list("v1", "Secret", { namespace: B })],
    ["read a secret", () => alice.get(inB("Secret", "b-db-kv-account-root"))],
    ["list pods", () => alice.list("v1", "Pod", { namespace: B })],
    ["read a pod's log", () => alice.request("GET", `/api/v1/namespaces/${B}/pods/b-db-kv-0/log`)],
    [
      "exec into a pod",
      () =>
        alice.request("POST", `/api/v1/namespaces/${B}/pods/b-db-kv-0/exec`, {
          query: { command: "true", stdout: true },
        }),
    ],
    ["list operations", () => alice.list(API_VERSION, "OpsRequest", { namespace: B })],
    ["list backups", () => alice.list(API_VERSION, "Backup", { namespace: B })],
    [
      "take a backup",
      () =>
        alice.create({
          apiVersion: API_VERSION,
          kind: "Backup",
          metadata: { name: "intruder", namespace: B },
          spec: { clusterName: "b-db" },
        } as KubernetesObject),
    ],
    ["run an operation", () => alice.create(object(opsManifest(B, "intruder-restart", "b-db", "Restart")))],
  ];
  for (const [what, action] of forbidden)
    assert.equal(await statusOf(action), 403, `${what} in B is Forbidden`);
});

test("tenant A's user cannot restore from tenant B's backup: a restore names a backup of its own namespace", async () => {
  await env.apply(`apiVersion: tessera.dev/v1alpha1
kind: BackupRepo
metadata: { name: tenant-test-repo }
spec: { kind: filesystem, filesystem: { path: /nonexistent-tenant-test-repo } }
---
apiVersion: tessera.dev/v1alpha1
kind: Backup
metadata: { name: b-nightly, namespace: ${B} }
spec: { clusterName: b-db, repo: tenant-test-repo }
`);
  const refusal = await refusalOf(() =>
    alice.create(
      object(kvCluster(A, "from-b", { replicas: 1, extra: "  restore: { backup: b-nightly }\n" })),
    ),
  );
  assert.match(refusal, /spec\.restore\.backup: backup "b-nightly" does not exist in namespace tenant-a/);
});

test("a tenant's default backup repository is written into what names none; without one, a repository is required", async () => {
  await env.apply(`apiVersion: tessera.dev/v1alpha1
kind: BackupRepo
metadata: { name: tenant-default-repo }
spec: { kind: filesystem, filesystem: { path: /nonexistent-tenant-default-repo } }
`);
  await env.client.patch(
    { apiVersion: API_VERSION, kind: "Tenant", name: B },
    { spec: { defaultBackupRepo: "tenant-default-repo" } },
    "merge",
  );
  const inB = (kind: string, name: string) => ({ apiVersion: API_VERSION, kind, namespace: B, name });
  // Through kubectl, which checks the manifest against the CRD's schema first.
  await env.apply(kvCluster(B, "b-backed", { replicas: 1, extra: '  backup: { schedule: "0 3 * * *" }\n' }));
  assert.equal(
    (await env.client.get<Cluster>(inB("Cluster", "b-backed"))).spec.backup?.repo,
    "tenant-default-repo",
  );
  await env.apply(kvCluster(B, "b-named", { replicas: 1, extra: "  backup: { repo: tenant-test-repo }\n" }));
  assert.equal(
    (await env.client.get<Cluster>(inB("Cluster", "b-named"))).spec.backup?.repo,
    "tenant-test-repo",
    "a repository named is kept",
  );
  // b-db has no spec.backup: a Backup of it, or a Backup operation, gets the tenant's.
  await env.apply(`apiVersion: tessera.dev/v1alpha1
kind: Backup
metadata: { name: b-on-demand, namespace: ${B} }
spec: { clusterName: b-db }
`);
  assert.equal((await env.client.get<Backup>(inB("Backup", "b-on-demand"))).spec.repo, "tenant-default-repo");
  await env.apply(opsManifest(B, "b-backup-op", "b-db", "Backup"));
  assert.equal(
    (await env.client.get<OpsRequest>(inB("OpsRequest", "b-backup-op"))).spec.backup?.repo,
    "tenant-default-repo",
  );
  for (const name of ["b-backed", "b-named"]) await env.client.delete(inB("Cluster", name));
  // Tenant A names no default.
  const refusal = await refusalOf(() =>
    alice.create(object(kvCluster(A, "a-backed", { replicas: 1, extra: "  backup: {}\n" }))),
  );
  assert.match(
    refusal,
    /spec\.backup\.repo: required: name a BackupRepo \(tessera backuprepo list\), or give the namespace's Tenant a spec\.defaultBackupRepo/,
  );
});

/** Whether the apiserver lets `user` (in `groups`) exec into pods of tenant A's namespace. */
async function mayExec(user: string, groups: string[]): Promise<boolean> {
  const review = await env.client.create<KubernetesObject & { status?: { allowed?: boolean } }>({
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: {
      user,
      groups,
      resourceAttributes: { namespace: A, verb: "create", resource: "pods", subresource: "exec" },
    },
  } as KubernetesObject);
  return review.status?.allowed === true;
}

test("who may exec into a tenant's pods follows its spec.access.podExec", async () => {
  const groups = tenantGroups(A);
  // alice is an administrator by name, mia a member through the tenant's group.
  const exec = async () => [await mayExec("alice", [groups.members]), await mayExec("mia", [groups.members])];
  const waitExec = (expected: boolean[], podExec: string) =>
    waitFor(async () => (await exec()).join() === expected.join(), {
      description: `exec rights [alice, mia] to be [${expected.join()}] with podExec ${podExec}`,
      timeoutMs: 15_000,
    });
  assert.deepEqual(await exec(), [true, false], "by default administrators exec, members do not");
  for (const [podExec, expected] of [
    ["Members", [true, true]],
    ["None", [false, false]],
    ["Administrators", [true, false]],
  ] as const) {
    await cli(["tenant", "edit", A, "--pod-exec", podExec]);
    await waitExec([...expected], podExec);
  }
});

test("tenant A's user is forbidden tenants, definitions and cluster-wide objects", async () => {
  const forbidden: [string, () => Promise<unknown>][] = [
    ["create a tenant", () => alice.create(object(tenantManifest("tenant-c", "alice", "{}")))],
    [
      "raise her own quota",
      () =>
        alice.patch(
          { apiVersion: API_VERSION, kind: "Tenant", name: A },
          { spec: { quota: { memory: "1Ti" } } },
          "merge",
        ),
    ],
    ["delete tenant B", () => alice.delete({ apiVersion: API_VERSION, kind: "Tenant", name: B })],
    ["read tenant B", () => alice.get({ apiVersion: API_VERSION, kind: "Tenant", name: B })],
    ["list tenants", () => alice.list(API_VERSION, "Tenant")],
    [
      "create a ComponentDefinition",
      () =>
        alice.create({
          apiVersion: API_VERSION,
          kind: "ComponentDefinition",
          metadata: { name: "intruder" },
          spec: { serviceKind: "kv", runtime: { containers: [{ name: "kv", image: "busybox" }] } },
        } as KubernetesObject),
    ],
    [
      "change a ComponentDefinition",
      () =>
        alice.patch(
          { apiVersion: API_VERSION, kind: "ComponentDefinition", name: "kv-1" },
          { metadata: { labels: { x: "y" } } },
          "merge",
        ),
    ],
    [
      "create a namespace",
      () => alice.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "intruder" } }),
    ],
    [
      "relabel her namespace",
      () =>
        alice.patch(
          { apiVersion: "v1", kind: "Namespace", name: A },
          { metadata: { labels: { [TENANT_LABEL]: B } } },
          "merge",
        ),
    ],
    ["list namespaces", () => alice.listAll("v1", "Namespace")],
    [
      "bind herself a cluster role",
      () =>
        alice.create({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name: "intruder" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
          subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }],
        } as KubernetesObject),
    ],
    [
      "remove her network policy",
      () =>
        alice.delete({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          namespace: A,
          name: "tessera-tenant-isolation",
        }),
    ],
    [
      "remove her quota",
      () => alice.delete({ apiVersion: "v1", kind: "ResourceQuota", namespace: A, name: "tessera-tenant" }),
    ],
  ];
  for (const [what, action] of forbidden) assert.equal(await statusOf(action), 403, `${what} is Forbidden`);
});

test("a cluster past the tenant's memory quota is refused with the quota and the usage", async () => {
  const big = object(kvCluster(A, "a-big", { replicas: 1 }).replace("memory: 256Mi", "memory: 1Gi"));
  const message = await refusalOf(() => alice.create(big));
  assert.match(
    message,
    /tenant "tenant-a" spec\.quota\.memory: quota memory is 1Gi, its other clusters use 256Mi and this cluster needs 1Gi, 1280Mi in all/,
  );
});

test("a scale-out past the quota is refused, as a Cluster edit and as an OpsRequest", async () => {
  const edit = await refusalOf(() =>
    alice.patch(
      { apiVersion: API_VERSION, kind: "Cluster", namespace: A, name: "a-db" },
      [{ op: "replace", path: "/spec/componentSpecs/0/replicas", value: 5 }],
      "json",
    ),
  );
  assert.match(
    edit,
    /spec\.quota\.instances: quota instances is 4, its other clusters use 0 and this cluster needs 5 \(now 1\)/,
  );
  assert.match(
    edit,
    /spec\.quota\.memory: quota memory is 1Gi, its other clusters use 0 and this cluster needs 1280Mi \(now 256Mi\)/,
  );
  const ops = await refusalOf(() =>
    alice.create(
      object(
        opsManifest(
          A,
          "a-scale",
          "a-db",
          "HorizontalScaling",
          "  horizontalScaling: [{ componentName: kv, replicas: 5 }]",
        ),
      ),
    ),
  );
  assert.match(
    ops,
    /spec\.quota\.memory: quota memory is 1Gi, its other clusters use 0 and this HorizontalScaling needs 1280Mi \(now 256Mi\)/,
  );
  const vertical = await refusalOf(() =>
    alice.create(
      object(
        opsManifest(
          A,
          "a-resize",
          "a-db",
          "VerticalScaling",
          '  verticalScaling: [{ componentName: kv, resources: { limits: { cpu: "1", memory: 2Gi } } }]',
        ),
      ),
    ),
  );
  assert.match(vertical, /quota memory is 1Gi/);
});

test("a cluster past the tenant's cluster count is refused with the quota and the usage", async () => {
  await alice.create(object(kvCluster(A, "a-second", { replicas: 1 })));
  const message = await refusalOf(() => alice.create(object(kvCluster(A, "a-third", { replicas: 1 }))));
  assert.match(
    message,
    /spec\.quota\.clusters: quota clusters is 2, its other clusters use 2 and this cluster needs 1, 3 in all/,
  );
  await waitFor(async () => (await tenant(A)).status?.usage?.clusters === 2, {
    description: "tenant A's usage to count two clusters",
    timeoutMs: 15_000,
  });
  assert.deepEqual((await tenant(A)).status?.usage, {
    clusters: 2,
    instances: 2,
    cpu: "1",
    memory: "512Mi",
    storage: "2Gi",
  });
});

test("an addon the tenant may not use is refused", async () => {
  await env.client.patch(
    { apiVersion: API_VERSION, kind: "Tenant", name: B },
    { spec: { allowedAddons: ["postgresql"] } },
    "merge",
  );
  const message = await refusalOf(() => env.client.create(object(kvCluster(B, "b-kv", { replicas: 1 }))));
  assert.match(
    message,
    /tenant "tenant-b" spec\.allowedAddons: the tenant may not use addon "kv"; allowed: "postgresql"/,
  );
  // The cluster it had before keeps working: only new uses of the addon are refused.
  await env.client.patch(
    { apiVersion: API_VERSION, kind: "Cluster", namespace: B, name: "b-db" },
    { metadata: { labels: { touched: "yes" } }, spec: { terminationPolicy: "WipeOut" } },
    "merge",
  );
});

test("a quota below the usage is refused with the figures", async () => {
  const message = await refusalOf(() =>
    env.client.patch(
      { apiVersion: API_VERSION, kind: "Tenant", name: A },
      { spec: { quota: { memory: "256Mi" } } },
      "merge",
    ),
  );
  assert.match(message, /spec\.quota\.memory: 256Mi is below what the tenant's clusters use, 512Mi/);
});

test("the CLI lists, describes and edits tenants and adds users", async () => {
  const list = await cli(["tenant", "list"]);
  assert.match(list, new RegExp(`^${A}\\s+Ready`, "m"));
  assert.match(list, /512Mi\/1Gi/, "memory used against its quota");
  await cli(["tenant", "add-user", A, "carol"]);
  await cli(["tenant", "add-user", A, "dbas", "--admin", "--group"]);
  await cli(["tenant", "edit", A, "--display-name", "Team A", "--cpu", "4"]);
  const described = await cli(["tenant", "describe", A]);
  assert.match(described, /Display name:\s+Team A/);
  assert.match(described, /Administrators:\s+alice, group dbas/);
  assert.match(described, /Members:\s+carol/);
  assert.match(described, /Pod exec:\s+Administrators/);
  assert.match(described, /cpu\s+1\s+4/);
  const result = await runCommand(
    process.execPath,
    [TESSERA, "--kubeconfig", env.cluster.kubeconfig, "tenant", "edit", A, "--clusters", "1"],
    { env: { ...process.env, NO_COLOR: "1" } },
  );
  assert.notEqual(result.code, 0, "a quota below usage is refused");
  assert.match(result.stderr, /spec\.quota\.clusters: 1 is below what the tenant's clusters use, 2/);
});

test("a tenant with clusters is not deleted unless its deletion policy says so", async () => {
  const message = await refusalOf(() =>
    env.client.delete({ apiVersion: API_VERSION, kind: "Tenant", name: A }),
  );
  assert.match(
    message,
    /tenant "tenant-a" still has 2 cluster\(s\): "tenant-a\/a-db", "tenant-a\/a-second"; delete them first, or set spec.deletionPolicy to DeleteClusters/,
  );
  await env.client.patch(
    { apiVersion: API_VERSION, kind: "Tenant", name: A },
    { spec: { deletionPolicy: "DeleteClusters" } },
    "merge",
  );
  await env.client.delete({ apiVersion: API_VERSION, kind: "Tenant", name: A });
  await waitFor(
    async () => (await env.client.list(API_VERSION, "Cluster", { namespace: A })).items.length === 0,
    { description: "tenant A's clusters to go with its namespace", timeoutMs: 60_000 },
  );
});
