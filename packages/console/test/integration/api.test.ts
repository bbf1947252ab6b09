import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { API_VERSION, type Cluster } from "@tessera/api";
import { installCrds } from "@tessera/addons";
import { loadKubeConfig } from "@tessera/kube";
import { TestCluster } from "@tessera/testing";
import { consoleServer, type ClusterDetail, type ClusterSummary, type Overview } from "@tessera/console";

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
    await readUntil("event: synced");
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
