import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { chromium, type Browser, type Page } from "playwright-core";
import type { V1Secret } from "@kubernetes/client-node";
import { API_VERSION, type Cluster, type Tenant } from "@tessera/api";
import { loadKubeConfig, waitFor } from "@tessera/kube";
import { consoleServer } from "@tessera/console";
import { TestPlatform } from "../../../../test/support/platform.js";

// The console in a real browser (Debian's Chromium, driven by playwright-core) against a real
// control plane, the operator and a hostlet node running the kv test addon: an administrator
// signs in with a token and walks the pages, each change showing up as the console's events arrive.

const KV_ADDON = fileURLToPath(new URL("../../../operator/test/fixtures/addons/kv/", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const TENANT = "shop";

let platform: TestPlatform;
let app: FastifyInstance;
let browser: Browser;
let page: Page;
let base: string;
let token: string;
const pageErrors: string[] = [];

function kvCluster(namespace: string, name: string): Cluster {
  return {
    apiVersion: API_VERSION,
    kind: "Cluster",
    metadata: { namespace, name },
    spec: {
      clusterDef: "kv",
      topology: "standalone",
      terminationPolicy: "Delete",
      componentSpecs: [
        {
          name: "kv",
          replicas: 1,
          resources: { limits: { cpu: "100m", memory: "64Mi" } },
          volumeClaimTemplates: [
            {
              name: "data",
              spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
            },
          ],
        },
      ],
    },
  } as Cluster;
}

/** A ServiceAccount bound to cluster-admin and its token, which the token controller issues. */
async function adminToken(): Promise<string> {
  const namespace = await platform.cluster.createNamespace("console");
  const client = platform.client;
  await client.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { namespace, name: "admin" } });
  await client.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `${namespace}-admin` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", namespace, name: "admin" }],
  });
  return waitFor(
    async () => {
      const secrets = await client.list<V1Secret>("v1", "Secret", { namespace });
      const secret = secrets.items.find(
        (s) =>
          s.type === "kubernetes.io/service-account-token" &&
          s.metadata?.annotations?.["kubernetes.io/service-account.name"] === "admin",
      );
      return secret?.data?.token && Buffer.from(secret.data.token, "base64").toString("utf8");
    },
    { description: "the admin ServiceAccount's token", timeoutMs: 30_000 },
  );
}

before(async () => {
  platform = await TestPlatform.start({ addons: [KV_ADDON] });
  const tenant: Tenant = {
    apiVersion: API_VERSION,
    kind: "Tenant",
    metadata: { name: TENANT },
    spec: { displayName: "Shop team", quota: { clusters: 3 } },
  } as Tenant;
  await platform.client.create(tenant);
  await waitFor(
    async () =>
      (await platform.client.get<Tenant>({ apiVersion: API_VERSION, kind: "Tenant", name: TENANT })).status
        ?.phase === "Ready",
    { description: `tenant ${TENANT} to be Ready`, timeoutMs: 60_000 },
  );
  await platform.client.create(kvCluster(TENANT, "orders"));
  token = await adminToken();
  const webDir = mkdtempSync(join(platform.cluster.dir, "web-"));
  await promisify(execFile)("npx", ["vite", "build", "--config", "web/vite.config.ts", "--outDir", webDir], {
    cwd: new URL("../..", import.meta.url).pathname,
  });
  app = consoleServer({ kubeConfig: loadKubeConfig(platform.cluster.kubeconfig), webDir });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  page = await browser.newPage();
  page.on("pageerror", (error) => pageErrors.push(error.message));
});

after(async () => {
  await browser?.close();
  await app?.close();
  await platform?.stop();
});

/** Waits for an element with `text` inside the elements `selector` matches. */
async function see(selector: string, text: string | RegExp, timeout = 30_000): Promise<void> {
  await page.locator(selector).filter({ hasText: text }).first().waitFor({ timeout });
}

test("an administrator signs in with a token, creates a cluster with the form, restarts it live and sees tenants' usage", async () => {
  await page.goto(base);
  await page.getByRole("textbox", { name: "token" }).fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();

  // Overview: the cluster made before signing in, by phase, as it gets Running.
  await see(".tile", /^1 clusters$/);
  await see(".tile", /^1\s*Running$/, 120_000);

  // The creation form: a CPU no node can give is refused by the webhook, on the field.
  await page.goto(`${base}/#/create`);
  /** The input or select of the form field labelled `label`. */
  const field = (label: string) =>
    page
      .locator("label.field")
      .filter({ has: page.locator("span", { hasText: new RegExp(`^${label}$`) }) })
      .locator("input, select");
  await field("Namespace").fill(TENANT);
  await field("Name").fill("catalog");
  await field("Topology").selectOption("standalone");
  await field("CPU").fill("500");
  await page.getByRole("button", { name: "Create" }).click();
  await see(".field.refused", /CPU[\s\S]*is more than any node can allocate/);
  await field("CPU").fill("100m");
  await field("Memory").fill("64Mi");
  await page.getByRole("button", { name: "Create" }).click();

  // The cluster page: it gets Running live, with its instance's role, connections and log.
  await page.waitForURL(/#\/clusters\/shop\/catalog$/);
  await see("h1", /Running/, 120_000);
  await see(".instance.ready", /^catalog-kv-0 \(primary\)$/);
  await see(".connect code", `admin@catalog-kv-rw.${TENANT}.svc.cluster.local:7000`);
  await see(".connect code", `kubectl -n ${TENANT} get secret catalog-kv-account-admin`);
  await see("pre.log", "kv: catalog-kv-0 serving as primary");
  const secret = await platform.client.get<V1Secret>({
    apiVersion: "v1",
    kind: "Secret",
    namespace: TENANT,
    name: "catalog-kv-account-admin",
  });
  const password = Buffer.from(secret.data!.password!, "base64").toString("utf8");
  assert.ok(!(await page.content()).includes(password), "the page never shows a password");

  // A Restart from the cluster page: its steps and phase arrive by the console's events.
  const operations = page.locator(".operations > li");
  await field("Operation").selectOption("Restart");
  await page.getByRole("button", { name: "Start" }).click();
  await see(".form.inline", /Started catalog-restart-/);
  await operations.filter({ hasText: "Restart" }).first().waitFor();
  await see(".operations > li", /Restart[\s\S]*Succeed/, 120_000);
  await see(".operations > li ol li", /Succeed/);

  // The overview counts both clusters; the tenants page shows their usage against the quota.
  await page.goto(`${base}/#/`);
  await see(".tile", /^2 clusters$/);
  await see(".tile", /^2\s*Running$/, 60_000);
  await page.goto(`${base}/#/tenants`);
  const row = page.locator("tr").filter({ hasText: "Shop team" });
  await row.filter({ hasText: "2 / 3" }).waitFor({ timeout: 30_000 });
  assert.deepEqual(pageErrors, [], "no uncaught errors in the page");
});
