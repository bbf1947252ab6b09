// The console in a real browser (Debian's Chromium, driven by playwright-core) against a real
// control plane, the operator, a hostlet node running PostgreSQL and a Prometheus scraping it: an
// administrator creates two tenants on the tenants page; one tenant's user signs in with the
// kubeconfig `tessera tenant kubeconfig` writes, creates a PostgreSQL cluster with the form (the
// webhook's refusal on its field first), follows it to Running, sees its connections, log and
// charts after a pgbench run, backs it up from the cluster page, restores the backup to a point in
// time and restarts the restored cluster from its page; the other tenant's user neither sees her
// clusters nor gets them from the API. Every page is saved as a screenshot.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { chromium, type Browser, type Page } from "playwright-core";
import { API_VERSION, type Cluster } from "@tessera/api";
import { runCommand } from "@tessera/base";
import { kubeBinDir } from "@tessera/control-plane/paths";
import { loadKubeConfig, waitFor } from "@tessera/kube";
import { consoleServer, type Chart } from "@tessera/console";
import {
  MONITORING_USER,
  PrometheusServer,
  grantMonitoringAccess,
  monitoringRuleFiles,
} from "@tessera/playground";
import { testRoot } from "@tessera/testing";
import { TestPlatform } from "../support/platform.js";
import { adminToken } from "../support/console.js";
import { podTarget, query, type PgTarget } from "../support/postgresql.js";

const ADDON = fileURLToPath(new URL("../../addons/postgresql/", import.meta.url));
const CONSOLE = fileURLToPath(new URL("../../packages/console/", import.meta.url));
const TESSERA = fileURLToPath(new URL("../../packages/cli/bin/tessera.js", import.meta.url));
const KUBECTL = join(kubeBinDir(), "kubectl");
const CHROMIUM = "/usr/bin/chromium";
const SHOP = "shop";
const GAMES = "games";
const CLUSTER = "db";
const RESTORED = "db-pitr";

/**
 * Screenshots go to $TESSERA_ARTIFACTS_DIR/console when set (kept), else to a directory under
 * the test root that a passing run removes and a failing one keeps.
 */
const ARTIFACTS = process.env.TESSERA_ARTIFACTS_DIR
  ? join(process.env.TESSERA_ARTIFACTS_DIR, "console")
  : mkdtempSync(join(testRoot(), "console-screenshots-"));
mkdirSync(ARTIFACTS, { recursive: true });

let platform: TestPlatform;
let prometheus: PrometheusServer;
let app: FastifyInstance;
let browser: Browser;
let base: string;
let webDir: string;
let failed = false;
let shots = 0;
/** Uncaught errors and console errors of every page. */
const pageErrors: string[] = [];

/** A test step, skipped after a failed one (each builds on the last); a failing one keeps the screenshots. */
function step(name: string, run: () => Promise<void>): void {
  test(name, async (t) => {
    if (failed) return t.skip("an earlier step failed");
    try {
      await run();
    } catch (error) {
      failed = true;
      throw error;
    }
  });
}

async function cli(args: string[]): Promise<string> {
  const result = await runCommand(process.execPath, [
    TESSERA,
    "--kubeconfig",
    platform.cluster.kubeconfig,
    ...args,
  ]);
  assert.equal(result.code, 0, `tessera ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * Waits until the user of kubeconfig `config` may create clusters in `namespace`: the apiserver
 * may authorize by a tenant's new bindings only a moment after they were made.
 */
async function mayCreateClusters(config: string, namespace: string): Promise<void> {
  const args = ["--kubeconfig", config, "auth", "can-i", "create", "clusters.tessera.dev", "-n", namespace];
  await waitFor(async () => (await runCommand(KUBECTL, args)).stdout.trim() === "yes", {
    description: `the user of ${config} to be allowed clusters in ${namespace}`,
    timeoutMs: 15_000,
  });
}

/** A page in its own browser context (its own session cookie), with its errors recorded. */
async function newPage(who: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.on("pageerror", (error) => pageErrors.push(`${who}: ${error.message}`));
  page.on("console", (message) => {
    // A refusal the test asks for (401 before signing in, 403 to another tenant's data, the
    // webhook's 4xx) is logged by Chromium as a failed load; the page handles it.
    if (message.type() === "error" && !/^Failed to load resource: .* status of 4\d\d/.test(message.text()))
      pageErrors.push(`${who}: ${message.text()}`);
  });
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({
    path: join(ARTIFACTS, `${String(++shots).padStart(2, "0")}-${name}.png`),
    fullPage: true,
  });
}

/** Waits for an element with `text` inside the elements `selector` matches. */
async function see(page: Page, selector: string, text: string | RegExp, timeout = 30_000): Promise<void> {
  await page.locator(selector).filter({ hasText: text }).first().waitFor({ timeout });
}

/** Waits for the cluster page to show the cluster Running; a timeout tells the cluster's status and the operator's log. */
async function seeRunning(page: Page, name: string, timeout: number): Promise<void> {
  await see(page, "h1", /Running/, timeout).catch(async (error: Error) => {
    const cluster = await platform.client.find<Cluster>({
      apiVersion: API_VERSION,
      kind: "Cluster",
      namespace: SHOP,
      name,
    });
    error.message += `\nstatus of ${name}: ${JSON.stringify(cluster?.status)}\noperator log:\n${platform.operator.logTail(30)}`;
    throw error;
  });
}

/** The input or select of the form field labelled `label`. */
function field(page: Page, label: string) {
  return page
    .locator("label.field")
    .filter({ has: page.locator("span", { hasText: new RegExp(`^${label}$`) }) })
    .locator("input, select");
}

async function signIn(page: Page, kind: "token" | "kubeconfig", value: string): Promise<void> {
  await page.goto(base);
  if (kind === "kubeconfig") await page.getByLabel("Kubeconfig").check();
  await page.getByRole("textbox", { name: kind }).fill(value);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** Chooses the namespace in the header, as a user who may read only some does. */
async function chooseNamespace(page: Page, namespace: string): Promise<void> {
  const input = page.locator("header input");
  await input.fill(namespace);
  await input.press("Enter");
}

let admin: Page;
let alice: Page;
let bob: Page;

before(async () => {
  webDir = mkdtempSync(join(testRoot(), "console-web-"));
  const build = runCommand("npx", ["vite", "build", "--config", "web/vite.config.ts", "--outDir", webDir], {
    cwd: CONSOLE,
  });
  platform = await TestPlatform.start({ addons: [ADDON] });
  await grantMonitoringAccess(platform.client, "tessera-test");
  const monitoringConfig = await platform.cluster.plane.writeKubeconfig(
    join(platform.cluster.dir, "monitoring.kubeconfig"),
    { user: MONITORING_USER, groups: [] },
  );
  const [built, server] = await Promise.all([
    build,
    PrometheusServer.start({
      dir: join(platform.cluster.dir, "prometheus"),
      logFile: join(platform.cluster.dir, "prometheus.log"),
      kubeconfig: monitoringConfig,
      operatorTargets: [],
      ruleFiles: monitoringRuleFiles([ADDON]),
      interval: "2s",
    }),
  ]);
  prometheus = server;
  assert.equal(built.code, 0, `the console's app did not build: ${built.stderr}`);
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: BackupRepo
metadata: { name: local }
spec: { kind: filesystem, filesystem: { path: ${mkdtempSync(join(platform.cluster.dir, "backups-"))} } }
`);
  app = consoleServer({
    kubeConfig: loadKubeConfig(platform.cluster.kubeconfig),
    prometheusURL: prometheus.url,
    webDir,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  [admin, alice, bob] = await Promise.all([newPage("admin"), newPage("alice"), newPage("bob")]);
});

after(async () => {
  await browser?.close();
  await app?.close();
  await prometheus?.destroy();
  await platform?.stop();
  rmSync(webDir, { recursive: true, force: true });
  if (failed || process.env.TESSERA_ARTIFACTS_DIR) console.log(`screenshots: ${ARTIFACTS}`);
  else rmSync(ARTIFACTS, { recursive: true, force: true });
});

step("an administrator signs in with a token and creates two tenants on the tenants page", async () => {
  await signIn(admin, "token", await adminToken(platform));
  await admin.goto(`${base}/#/tenants`);
  for (const [name, display, user] of [
    [SHOP, "Shop team", "alice"],
    [GAMES, "Games team", "bob"],
  ] as const) {
    await field(admin, "Name").fill(name);
    await field(admin, "Display name").fill(display);
    await field(admin, "Administrators \\(user names, comma-separated\\)").fill(user);
    await field(admin, "Clusters").fill("3");
    await admin.getByRole("button", { name: "Create tenant" }).click();
    await admin.locator("tr").filter({ hasText: display }).waitFor();
  }
  for (const display of ["Shop team", "Games team"])
    await see(admin, "tr", new RegExp(`${display}[\\s\\S]*Ready`), 60_000);
  await shot(admin, "tenants");
});

step(
  "a tenant user signs in with her kubeconfig and creates a PostgreSQL cluster with the form",
  async () => {
    const configs = {
      alice: join(platform.cluster.dir, "alice.kubeconfig"),
      bob: join(platform.cluster.dir, "bob.kubeconfig"),
    };
    await Promise.all([
      cli(["tenant", "kubeconfig", SHOP, "--user", "alice", "--out", configs.alice]),
      cli(["tenant", "kubeconfig", GAMES, "--user", "bob", "--out", configs.bob]),
    ]);
    await Promise.all([mayCreateClusters(configs.alice, SHOP), mayCreateClusters(configs.bob, GAMES)]);
    await signIn(alice, "kubeconfig", readFileSync(configs.alice, "utf8"));
    await signIn(bob, "kubeconfig", readFileSync(configs.bob, "utf8"));
    await chooseNamespace(alice, SHOP);
    await see(alice, ".tile", /^0 clusters$/);
    await shot(alice, "overview-empty");

    await alice.goto(`${base}/#/create`);
    await field(alice, "Name").fill(CLUSTER);
    await field(alice, "CPU").fill("500");
    await field(alice, "Backup repository").fill("local");
    await field(alice, "Point-in-time recovery \\(archive logs\\)").check();
    await alice.getByRole("button", { name: "Create" }).click();
    await see(alice, ".field.refused", /CPU[\s\S]*is more than any node can allocate/);
    await shot(alice, "create-refused");
    await field(alice, "CPU").fill("500m");
    await field(alice, "Memory").fill("512Mi");
    await alice.getByRole("button", { name: "Create" }).click();

    await alice.waitForURL(new RegExp(`#/clusters/${SHOP}/${CLUSTER}$`));
    await seeRunning(alice, CLUSTER, 150_000);
    await see(alice, ".instance.ready", `${CLUSTER}-postgresql-0 (primary)`);
    await see(alice, ".connect code", `${CLUSTER}-postgresql-rw.${SHOP}.svc.cluster.local:5432`);
    await see(alice, "pre.log", "database system is ready to accept connections");
    const target = await primary(CLUSTER);
    assert.ok(!(await alice.content()).includes(target.password), "the page never shows a password");
    await shot(alice, "cluster-running");
  },
);

async function primary(cluster: string): Promise<PgTarget> {
  return podTarget(platform.client, SHOP, cluster, `${cluster}-postgresql-0`);
}

/** The cluster page's charts as the console serves them to the signed-in user. */
async function charts(page: Page): Promise<Chart[]> {
  return page.evaluate<Chart[], string>(
    async (path) => (await fetch(path)).json() as Promise<Chart[]>,
    `/api/clusters/${SHOP}/${CLUSTER}/charts?range=15m`,
  );
}

step("after a pgbench run the throughput and connections charts show the instance's series", async () => {
  const target = await primary(CLUSTER);
  const pgbench = (args: string[]) =>
    runCommand("pgbench", ["-h", target.host, "-U", target.user, ...args, "postgres"], {
      env: { ...process.env, PGPASSWORD: target.password },
    });
  const init = await pgbench(["-i", "-s", "1", "-q"]);
  assert.equal(init.code, 0, `pgbench -i: ${init.stderr}`);
  const run = await pgbench(["-T", "5", "-c", "4"]);
  assert.equal(run.code, 0, `pgbench -T: ${run.stderr}`);
  const peak = (all: Awaited<ReturnType<typeof charts>>, id: string) =>
    Math.max(0, ...(all.find((c) => c.id === id)?.lines.flatMap((l) => l.values.map((v) => v ?? 0)) ?? []));
  await waitFor(
    async () => {
      const all = await charts(alice);
      return peak(all, "throughput") > 1 && peak(all, "connections") > 0;
    },
    { description: "the charts to show the pgbench transactions", timeoutMs: 60_000, intervalMs: 1000 },
  );
  // The page reads its charts again when the range changes.
  await alice.getByRole("button", { name: "15m" }).click();
  for (const title of ["Throughput", "Connections"])
    await alice
      .locator("figure.chart")
      .filter({ hasText: title })
      .filter({ hasText: `${CLUSTER}-postgresql-0` })
      .locator("canvas")
      .waitFor();
  await alice.locator("figure.chart").first().scrollIntoViewIfNeeded();
  await shot(alice, "cluster-charts");
});

/**
 * Starts an operation from the page of cluster `name` and waits until the operation's own phase
 * (not one of its steps') shows Succeed.
 */
async function operate(name: string, type: string): Promise<void> {
  await field(alice, "Operation").selectOption(type);
  await alice.getByRole("button", { name: "Start" }).click();
  await see(alice, ".form.inline", new RegExp(`Started ${name}-${type.toLowerCase()}-`));
  await alice
    .locator(`.operations > li:has(> b:text-is("${type}")) > .phase`)
    .filter({ hasText: /^Succeed$/ })
    .first()
    .waitFor({ timeout: 120_000 });
}

step(
  "the user backs up from the cluster page, follows the Backup to Succeed and sees it Completed",
  async () => {
    await operate(CLUSTER, "Backup");
    await shot(alice, "cluster-backup");
    await alice.goto(`${base}/#/backups`);
    await see(alice, "tr", new RegExp(`${CLUSTER}-backup-[\\s\\S]*Completed`));
    await shot(alice, "backups");
  },
);

step("the user restores the backup into a new cluster to a point in time after it", async () => {
  const rw = await primary(CLUSTER);
  await query(rw, "create table marker (id bigint primary key)");
  await query(rw, "insert into marker select generate_series(1, 10)");
  // The moment: the first whole second after the last commit, as the page's picker takes seconds.
  const [{ t }] = (await query<{ t: string }>(
    rw,
    `select to_char(date_trunc('second', clock_timestamp() at time zone 'UTC') + interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS') as t`,
  )) as [{ t: string }];
  await waitFor(
    async () => {
      await query(rw, "select pg_switch_wal()");
      const cluster = await platform.client.get<Cluster>({
        apiVersion: API_VERSION,
        kind: "Cluster",
        namespace: SHOP,
        name: CLUSTER,
      });
      const to = cluster.status?.backup?.recoverableRange?.to;
      return to !== undefined && Date.parse(to) >= Date.parse(`${t}Z`);
    },
    { description: `the log to be archived past ${t}`, timeoutMs: 60_000, intervalMs: 1000 },
  );
  await alice.getByRole("button", { name: "Restore…" }).click();
  await see(alice, "p.muted", /can be restored to its end or any moment from/);
  await field(alice, "New cluster").fill(RESTORED);
  await field(alice, "To a point in time").check();
  await field(alice, "Moment \\(UTC\\)").fill(t);
  await shot(alice, "restore-form");
  await alice.getByRole("button", { name: "Restore", exact: true }).click();
  await alice.waitForURL(new RegExp(`#/clusters/${SHOP}/${RESTORED}$`));
  await seeRunning(alice, RESTORED, 180_000);
  await shot(alice, "restored-running");
  const rows = await query<{ n: string }>(await primary(RESTORED), "select count(*) as n from marker");
  assert.equal(Number(rows[0]!.n), 10, "the rows committed after the backup and before the moment");
});

// The restored cluster is restarted rather than the source: the source archives its logs, and
// its instance takes close to a minute to stop (PostgreSQL's last archive_command waits for the
// archiver sidecar, which stopped at once).
step(
  "the user restarts the restored cluster from its page and follows the Restart live to Succeed",
  async () => {
    await operate(RESTORED, "Restart");
    await see(alice, ".operations > li ol li", /restart postgresql[\s\S]*Succeed/);
    await seeRunning(alice, RESTORED, 60_000);
    await see(alice, ".instance.ready", `${RESTORED}-postgresql-0 (primary)`);
    await shot(alice, "restored-restarted");
  },
);

step("another tenant's user sees none of the first tenant's clusters and its API refuses them", async () => {
  await chooseNamespace(bob, GAMES);
  await bob.goto(`${base}/#/clusters`);
  await bob.locator("table").waitFor();
  assert.equal(await bob.locator("tbody tr").count(), 0, "no cluster in bob's tenant");
  await shot(bob, "clusters-other-tenant");
  await chooseNamespace(bob, SHOP);
  await see(bob, "p.error", /forbidden[\s\S]*\(403\)/);
  await shot(bob, "clusters-forbidden");
  for (const path of [
    `/api/clusters/${SHOP}/${CLUSTER}`,
    `/api/clusters?namespace=${SHOP}`,
    "/api/clusters",
  ]) {
    const response = await bob.request.get(`${base}${path}`);
    assert.equal(response.status(), 403, `${path} for bob`);
  }
});

step("the administrator's overview and tenants page count the tenant's clusters", async () => {
  await admin.goto(`${base}/#/`);
  await see(admin, ".tile", /^2 clusters$/);
  await see(admin, ".tile", /^2\s*Running$/);
  await shot(admin, "overview");
  await admin.goto(`${base}/#/tenants`);
  await admin
    .locator("tr")
    .filter({ hasText: "Shop team" })
    .filter({ hasText: "2 / 3" })
    .waitFor({ timeout: 30_000 });
  await shot(admin, "tenants-usage");
  await admin.goto(`${base}/#/clusters`);
  await see(admin, "tbody tr", RESTORED);
  await shot(admin, "clusters");
  assert.deepEqual(pageErrors, [], "no uncaught errors in the pages");
});
