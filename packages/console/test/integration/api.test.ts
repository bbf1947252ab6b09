import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { API_VERSION, type Backup, type Cluster, type OpsRequest, type Tenant } from "@tessera/api";
import { installAddon, installCrds, loadAddon } from "@tessera/addons";
import { loadKubeConfig, type KubernetesObject } from "@tessera/kube";
import { TestCluster } from "@tessera/testing";
import {
  consoleServer,
  type BackupList,
  type ClusterDetail,
  type ClusterSummary,
  type Engine,
  type InstanceLog,
  type Overview,
  type TenantSummary,
} from "@tessera/console";

const KV_ADDON = fileURLToPath(new URL("../../../operator/test/fixtures/addons/kv/", import.meta.url));

let kube: TestCluster;
let app: FastifyInstance;
let base: string;
let nsA: string;
let nsB: string;
let webDir: string;

/** A user of the console: signs in once and keeps the session cookie. */
class Browser {
  private cookie = "";

  async signIn(body: object): Promise<Response> {
    const response = await fetch(`${base}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    this.cookie = response.headers.get("set-cookie")?.split(";")[0] ?? "";
    return response;
  }

  send(method: string, path: string, body?: object): Promise<Response> {
    return fetch(`${base}${path}`, {
      method,
      headers: { cookie: this.cookie, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  }

  get(path: string, signal?: AbortSignal): Promise<Response> {
    return fetch(`${base}${path}`, { headers: { cookie: this.cookie }, signal });
  }

  async json<T>(path: string): Promise<T> {
    const response = await this.get(path);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as T;
  }
}

/** Signs in with a client-certificate kubeconfig the control plane issues for `user`. */
async function userBrowser(user: string): Promise<Browser> {
  const path = await kube.plane.writeKubeconfig(join(kube.dir, `${user}.kubeconfig`), { user, groups: [] });
  const browser = new Browser();
  const response = await browser.signIn({ kubeconfig: readFileSync(path, "utf8") });
  assert.equal(response.status, 200, await response.text());
  return browser;
}

function clusterManifest(namespace: string, name: string): Cluster {
  return {
    apiVersion: API_VERSION,
    kind: "Cluster",
    metadata: { namespace, name },
    spec: {
      clusterDef: "kv",
      terminationPolicy: "Delete",
      componentSpecs: [{ name: "kv", replicas: 1 }],
    },
  } as Cluster;
}

async function createCluster(namespace: string, name: string, phase?: string): Promise<void> {
  await kube.client.create(clusterManifest(namespace, name));
  if (phase)
    await kube.client.patch(
      { apiVersion: API_VERSION, kind: "Cluster", namespace, name },
      { status: { phase } },
      "merge",
      "status",
    );
}

before(async () => {
  kube = await TestCluster.start();
  await installCrds(kube.client);
  await installAddon(kube.client, loadAddon(KV_ADDON));
  nsA = await kube.createNamespace("team-a");
  nsB = await kube.createNamespace("team-b");
  await createCluster(nsA, "orders", "Running");
  await createCluster(nsB, "billing", "Failed");
  // A reader of team A's namespace only.
  await kube.client.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { namespace: nsA, name: "reader" },
    rules: [
      { apiGroups: ["tessera.dev"], resources: ["clusters", "opsrequests"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["pods", "services"], verbs: ["get", "list"] },
    ],
  });
  await kube.client.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { namespace: nsA, name: "reader" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice" }],
  });
  // The single-page app, built as `npm run build -w packages/console` does, into a directory of this test.
  webDir = mkdtempSync(join(kube.dir, "web-"));
  await promisify(execFile)("npx", ["vite", "build", "--config", "web/vite.config.ts", "--outDir", webDir], {
    cwd: new URL("../..", import.meta.url).pathname,
  });
  app = consoleServer({ kubeConfig: loadKubeConfig(kube.kubeconfig), webDir });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

after(async () => {
  await app?.close();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
  await kube?.stop();
});

test("sign-in refuses unknown credentials, and the API refuses requests without a session", async () => {
  const stranger = new Browser();
  assert.equal((await stranger.signIn({ token: "not-a-token" })).status, 401);
  assert.equal((await stranger.get("/api/clusters")).status, 401);
  assert.equal((await stranger.signIn({})).status, 400);
});

test("an administrator's overview counts every cluster by phase and lists the failing ones", async () => {
  const admin = new Browser();
  assert.equal((await admin.signIn({ kubeconfig: readFileSync(kube.kubeconfig, "utf8") })).status, 200);
  const view = await admin.json<Overview>("/api/overview");
  assert.equal(view.clusters, 2);
  assert.deepEqual(view.clustersByPhase, { Running: 1, Failed: 1 });
  assert.deepEqual(
    view.failing.map((c) => `${c.namespace}/${c.name}`),
    [`${nsB}/billing`],
  );
  const clusters = await admin.json<ClusterSummary[]>("/api/clusters");
  assert.deepEqual(
    clusters.map((c) => c.name),
    [nsA, nsB].map((ns) => (ns === nsA ? "orders" : "billing")),
  );
});

test("RBAC decides: a user without rights gets 403, a namespace reader sees only that namespace", async () => {
  const nobody = await userBrowser("nobody");
  assert.equal((await nobody.get("/api/clusters")).status, 403);
  assert.equal((await nobody.get(`/api/clusters/${nsA}/orders`)).status, 403);

  const alice = await userBrowser("alice");
  assert.equal((await alice.get("/api/clusters")).status, 403, "alice may not list every namespace");
  assert.equal((await alice.get(`/api/clusters?namespace=${nsB}`)).status, 403);
  assert.equal((await alice.get(`/api/clusters/${nsB}/billing`)).status, 403);
  const own = await alice.json<ClusterSummary[]>(`/api/clusters?namespace=${nsA}`);
  assert.deepEqual(
    own.map((c) => [c.name, c.phase]),
    [["orders", "Running"]],
  );
  const detail = await alice.json<ClusterDetail>(`/api/clusters/${nsA}/orders`);
  assert.equal(detail.engine, "kv");
  assert.deepEqual(
    detail.components.map((c) => [c.name, c.replicas]),
    [["kv", 1]],
  );
  assert.equal((await alice.get(`/api/clusters/${nsA}/orders/charts?range=1h`)).status, 503);
});

test("the event stream tells a reader of a namespace about a cluster created there", async () => {
  const alice = await userBrowser("alice");
  const abort = new AbortController();
  const response = await alice.get(`/api/events?namespace=${nsA}`, abort.signal);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const reader = response.body!.getReader();
  let text = "";
  const readUntil = async (needle: string) => {
    while (!text.includes(needle)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended: ${text}`);
      text += new TextDecoder().decode(value);
    }
  };
  const timer = setTimeout(() => abort.abort(), 30_000);
  try {
    await readUntil('event: synced\ndata: {"kind":"Cluster"}');
    await createCluster(nsA, "inventory");
    await readUntil('"name":"inventory"');
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  assert.match(
    text,
    /event: cluster\ndata: \{"type":"ADDED","cluster":\{"namespace":"[^"]+","name":"inventory"/,
  );
});

test("the console serves the built app at every page address, and its scripts", async () => {
  const page = await fetch(`${base}/clusters/some/where`);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await page.text();
  assert.match(html, /<div id="root"><\/div>/);
  const script = html.match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
  assert.ok(script, html);
  const js = await fetch(`${base}${script}`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  const outside = await fetch(`${base}/%2e%2e/%2e%2e/etc/passwd`);
  assert.equal(
    outside.headers.get("content-type"),
    "text/html; charset=utf-8",
    "a path out of the app is the app",
  );
});

/** A tessera.dev object as the apiserver keeps it. */
function stored<T extends KubernetesObject>(
  kind: string,
  namespace: string | undefined,
  name: string,
): Promise<T> {
  return kube.client.get<T>({ apiVersion: API_VERSION, kind, namespace, name });
}

/** Signs in with the control plane's administrator kubeconfig. */
async function adminBrowser(): Promise<Browser> {
  const admin = new Browser();
  assert.equal((await admin.signIn({ kubeconfig: readFileSync(kube.kubeconfig, "utf8") })).status, 200);
  return admin;
}

test("the creation form offers the installed engines; a refused value comes back with the field it names", async () => {
  const admin = await adminBrowser();
  const ns = await kube.createNamespace("team-c");
  const engines = await admin.json<Engine[]>("/api/engines");
  const kv = engines.find((e) => e.name === "kv");
  assert.ok(kv, JSON.stringify(engines));
  const replication = kv.topologies.find((t) => t.name === "replication")!;
  const component = replication.components.find((c) => c.name === "kv")!;
  assert.equal(component.minReplicas, 1);
  assert.equal(component.maxReplicas, 7);
  assert.ok(component.versions.length > 0);
  assert.deepEqual(component.volumes, ["data"]);

  const form = (replicas: number) => ({
    namespace: ns,
    name: "made-by-form",
    engine: "kv",
    topology: "replication",
    components: [{ name: "kv", replicas, cpu: "250m", memory: "256Mi", storage: "2Gi" }],
    backup: { repo: "nightly", schedule: "0 3 * * *", pointInTime: true },
  });
  const refused = await admin.send("POST", "/api/clusters", form(-1));
  const refusal = (await refused.json()) as { error: string; field?: string };
  assert.equal(refused.status, 422, refusal.error);
  // The apiserver's schema check names the field without the index (Kubernetes 1.20), the webhook with it.
  assert.match(refusal.field ?? "", /^spec\.componentSpecs(\[0\])?\.replicas$/, refusal.error);

  const created = await admin.send("POST", "/api/clusters", form(3));
  assert.equal(created.status, 200, await created.clone().text());
  const cluster = await stored<Cluster>("Cluster", ns, "made-by-form");
  assert.equal(cluster.spec.topology, "replication");
  const kvSpec = cluster.spec.componentSpecs.find((c) => c.name === "kv")!;
  assert.equal(kvSpec.replicas, 3);
  assert.deepEqual(kvSpec.resources?.limits, { cpu: "250m", memory: "256Mi" });
  assert.equal(kvSpec.volumeClaimTemplates?.[0]?.spec.resources?.requests?.storage, "2Gi");
  assert.deepEqual(cluster.spec.backup, { repo: "nightly", schedule: "0 3 * * *", pointInTime: true });
});

test("a user without rights gets 403 for operations, backups and tenants; an administrator creates them", async () => {
  const nobody = await userBrowser("nobody");
  const operation = { type: "HorizontalScaling", component: "kv", replicas: 2 };
  const attempts: [string, string, object?][] = [
    ["POST", `/api/clusters/${nsA}/orders/operations`, operation],
    ["POST", "/api/backups", { namespace: nsA, cluster: "orders" }],
    ["GET", "/api/tenants"],
    ["POST", "/api/tenants", { name: "payments", quota: { clusters: 2 } }],
  ];
  for (const [method, path, body] of attempts)
    assert.equal((await nobody.send(method, path, body)).status, 403, `${method} ${path}`);

  const admin = await adminBrowser();
  const started = await admin.send("POST", `/api/clusters/${nsA}/orders/operations`, operation);
  assert.equal(started.status, 200, await started.clone().text());
  const { name: opsName } = (await started.json()) as { name: string };
  const ops = await stored<OpsRequest>("OpsRequest", nsA, opsName);
  assert.deepEqual(ops.spec.horizontalScaling, [{ componentName: "kv", replicas: 2 }]);
  const detail = await admin.json<ClusterDetail>(`/api/clusters/${nsA}/orders`);
  assert.deepEqual(
    detail.operations.map((o) => [o.name, o.type]),
    [[opsName, "HorizontalScaling"]],
  );

  const backedUp = await admin.send("POST", "/api/backups", {
    namespace: nsA,
    cluster: "orders",
    name: "orders-1",
  });
  assert.equal(backedUp.status, 200, await backedUp.clone().text());
  const backups = await admin.json<BackupList>(`/api/backups?namespace=${nsA}`);
  assert.deepEqual(
    backups.backups.map((b) => [b.name, b.cluster, b.phase]),
    [["orders-1", "orders", "Pending"]],
  );

  const tenant = await admin.send("POST", "/api/tenants", {
    name: "payments",
    displayName: "Payments team",
    administrators: ["carol"],
    quota: { cpu: "2", clusters: 3 },
  });
  assert.equal(tenant.status, 200, await tenant.clone().text());
  const edited = await admin.send("PATCH", "/api/tenants/payments", { quota: { clusters: "5" } });
  assert.equal(edited.status, 200, await edited.clone().text());
  const tenantObject = await stored<Tenant>("Tenant", undefined, "payments");
  assert.deepEqual(tenantObject.spec.quota, { clusters: 5 });
  assert.deepEqual(tenantObject.spec.administrators, { users: ["carol"] });
  const tenants = await admin.json<TenantSummary[]>("/api/tenants");
  assert.deepEqual(
    tenants.map((t) => [t.name, t.displayName]),
    [["payments", "Payments team"]],
  );
  assert.equal((await admin.send("DELETE", "/api/tenants/payments")).status, 200);
  assert.equal((await admin.send("DELETE", "/api/tenants/payments")).status, 404);
});

test("a restore copies the backed-up cluster and takes only a point in time within its recoverable range", async () => {
  const admin = await adminBrowser();
  const range = { from: "2026-01-01T10:00:00Z", to: "2026-01-01T12:00:00Z" };
  await kube.client.patch(
    { apiVersion: API_VERSION, kind: "Cluster", namespace: nsA, name: "orders" },
    { status: { backup: { recoverableRange: range } } },
    "merge",
    "status",
  );
  await kube.client.patch(
    { apiVersion: API_VERSION, kind: "Backup", namespace: nsA, name: "orders-1" },
    { status: { phase: "Completed", pointInTime: true, completionTime: "2026-01-01T10:30:00Z" } },
    "merge",
    "status",
  );
  const listed = await admin.json<BackupList>(`/api/backups?namespace=${nsA}`);
  assert.deepEqual(listed.ranges[`${nsA}/orders`], range);
  assert.deepEqual(listed.backups[0]?.restorable, { from: "2026-01-01T10:30:00Z", to: range.to });

  const path = `/api/backups/${nsA}/orders-1/restore`;
  // Before the backup ended, and after the last archived log.
  for (const moment of ["2026-01-01T10:15:00Z", "2026-01-01T13:00:00Z"]) {
    const outside = await admin.send("POST", path, { name: "orders-copy", pointInTime: moment });
    assert.equal(outside.status, 400, moment);
    assert.equal(((await outside.json()) as { field: string }).field, "spec.restore.pointInTime");
  }

  const inside = await admin.send("POST", path, {
    name: "orders-copy",
    pointInTime: "2026-01-01T11:30:00+00:00",
  });
  assert.equal(inside.status, 200, await inside.clone().text());
  const copy = await stored<Cluster>("Cluster", nsA, "orders-copy");
  assert.deepEqual(copy.spec.restore, { backup: "orders-1", pointInTime: "2026-01-01T11:30:00.000Z" });
  assert.deepEqual(
    copy.spec.componentSpecs.map((c) => [c.name, c.replicas]),
    [["kv", 1]],
  );
  const backup = await stored<Backup>("Backup", nsA, "orders-1");
  assert.equal(backup.spec.clusterName, "orders");
});

test("the cluster page's connections name each account's Secret, never a password; instance logs are read as the user", async () => {
  const ref = { apiVersion: API_VERSION, kind: "Cluster", namespace: nsA, name: "orders" };
  await kube.client.patch(ref, { status: { components: { kv: { compDef: "kv-1" } } } }, "merge", "status");
  const clusterLabels = { "tessera.dev/cluster": "orders", "tessera.dev/component": "orders-kv" };
  await kube.client.create({
    apiVersion: "v1",
    kind: "Service",
    metadata: { namespace: nsA, name: "orders-kv-rw", labels: clusterLabels },
    spec: { ports: [{ name: "kv", port: 7000 }] },
  });
  const pod = (name: string, cluster: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { namespace: nsA, name, labels: { ...clusterLabels, "tessera.dev/cluster": cluster } },
    spec: {
      automountServiceAccountToken: false,
      containers: [
        { name: "kv", image: "kv" },
        { name: "agent", image: "agent" },
      ],
    },
  });
  // No controller manager here makes the namespace's default ServiceAccount, which pods name.
  await kube.client.create({
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { namespace: nsA, name: "default" },
  });
  await kube.client.create(pod("orders-kv-0", "orders"));
  await kube.client.create(pod("other-kv-0", "other"));

  const admin = await adminBrowser();
  const detail = await admin.json<ClusterDetail>(`/api/clusters/${nsA}/orders`);
  const host = `orders-kv-rw.${nsA}.svc.cluster.local:7000`;
  assert.deepEqual(detail.endpoints.find((e) => e.service === "orders-kv-rw")?.connections, [
    `admin@${host}`,
    `app@${host}`,
  ]);
  assert.deepEqual(
    detail.accounts.map((a) => [a.username, a.secret, a.passwordCommand]),
    ["admin", "app"].map((account) => [
      account,
      `orders-kv-account-${account}`,
      `kubectl -n ${nsA} get secret orders-kv-account-${account} -o 'jsonpath={.data.password}' | base64 -d`,
    ]),
  );
  assert.deepEqual(
    detail.instances.map((i) => [i.name, i.containers]),
    [["orders-kv-0", ["kv", "agent"]]],
  );
  // A reader who may not read definitions still gets the addresses, without accounts.
  const alice = await userBrowser("alice");
  const seen = await alice.json<ClusterDetail>(`/api/clusters/${nsA}/orders`);
  assert.deepEqual(seen.accounts, []);
  assert.deepEqual(seen.endpoints.find((e) => e.service === "orders-kv-rw")?.connections, [host]);

  const log = `/api/clusters/${nsA}/orders/instances`;
  const refusals: [Browser, string, number, string?][] = [
    [alice, `${log}/orders-kv-0/log`, 403],
    [admin, `${log}/other-kv-0/log`, 404],
    [admin, `${log}/orders-kv-9/log`, 404],
    [admin, `${log}/orders-kv-0/log?tailLines=0`, 400, "tailLines"],
    [admin, `${log}/orders-kv-0/log?tailLines=100000`, 400, "tailLines"],
    [admin, `${log}/orders-kv-0/log?container=nope`, 400, "container"],
  ];
  for (const [browser, path, status, field] of refusals) {
    const response = await browser.get(path);
    const refusal = (await response.json()) as { error: string; field?: string };
    assert.equal(response.status, status, `${path}: ${refusal.error}`);
    assert.equal(refusal.field, field, path);
  }
  // Pods here never get a node, so there is no log yet; the container and tail asked for are kept.
  assert.deepEqual(await admin.json<InstanceLog>(`${log}/orders-kv-0/log?container=agent&tailLines=5`), {
    instance: "orders-kv-0",
    container: "agent",
    containers: ["kv", "agent"],
    tailLines: 5,
    text: "",
  });
});
