// The console with many clusters present: N Clusters of the kv test addon (stopped, so no pods
// compete for the cores; a few running) on a real control plane with the operator. Measured in
// the same run:
// - the cluster list API (`GET /api/clusters`, as a signed-in administrator) against the same
//   list read straight from the kube-apiserver by the same client library: p50 and p95 of each,
//   and the ratio of the medians;
// - the clusters page in Debian's Chromium (playwright-core): from navigation to every row shown,
//   against the sign-in page (the same app with no data) from navigation to its form shown.
//
// Usage: npm run bench:console [-- --clusters 200 --running 5 --requests 50 --renders 5]
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { AddressInfo } from "node:net";
import { chromium } from "playwright-core";
import { API_VERSION, type Cluster } from "@tessera/api";
import { loadKubeConfig, waitFor } from "@tessera/kube";
import { consoleServer } from "@tessera/console";
import { adminToken } from "../test/support/console.js";
import { TestPlatform } from "../test/support/platform.js";
import { median, printTable } from "./report.js";

const KV_ADDON = fileURLToPath(new URL("../packages/operator/test/fixtures/addons/kv/", import.meta.url));
const WEB_DIR = fileURLToPath(new URL("../packages/console/dist/", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";

const { values } = parseArgs({
  options: {
    clusters: { type: "string", default: "200" },
    running: { type: "string", default: "5" },
    requests: { type: "string", default: "50" },
    renders: { type: "string", default: "5" },
  },
});
const clusters = Number(values.clusters);
const running = Number(values.running);
const requests = Number(values.requests);
const renders = Number(values.renders);

function kvCluster(namespace: string, name: string, stopped: boolean): Cluster {
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
          ...(stopped ? { stop: true } : {}),
          resources: { requests: { cpu: "10m", memory: "16Mi" } },
        },
      ],
    },
  } as Cluster;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Milliseconds each of `count` sequential calls of `call` took. */
async function timed(count: number, call: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await call();
    samples.push(performance.now() - start);
  }
  return samples;
}

async function expectOk(response: Response): Promise<void> {
  if (!response.ok) throw new Error(`${response.url}: HTTP ${response.status}`);
  await response.arrayBuffer();
}

if (!existsSync(WEB_DIR))
  throw new Error(`no console build in ${WEB_DIR}: run npm run build -w packages/console`);
const platform = await TestPlatform.start({ addons: [KV_ADDON] });
const app = consoleServer({ kubeConfig: loadKubeConfig(platform.cluster.kubeconfig), webDir: WEB_DIR });
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
try {
  const ns = await platform.cluster.createNamespace("many");
  for (let i = 0; i < clusters; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, clusters - i) }, (_, j) =>
        platform.client.create(kvCluster(ns, `db-${String(i + j).padStart(3, "0")}`, i + j >= running)),
      ),
    );
  }
  await waitFor(
    async () => {
      const list = await platform.client.list<Cluster>(API_VERSION, "Cluster", { namespace: ns });
      return list.items.filter((c) => c.status?.phase).length === clusters;
    },
    {
      description: `the operator to report on all ${clusters} clusters`,
      timeoutMs: 600_000,
      intervalMs: 2000,
    },
  );
  const token = await adminToken(platform);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const signIn = await fetch(`${base}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
  });
  const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;

  const direct = await timed(requests, async () => {
    await platform.client.list<Cluster>(API_VERSION, "Cluster", { namespace: ns });
  });
  const api = await timed(requests, async () =>
    expectOk(await fetch(`${base}/api/clusters?namespace=${ns}`, { headers: { cookie } })),
  );

  const page = await browser.newPage();
  await page.context().addCookies([{ name: cookie.split("=")[0]!, value: cookie.split("=")[1]!, url: base }]);
  const empty = await browser.newPage();
  const signInPage = await timed(renders, async () => {
    await empty.goto(base);
    await empty.getByRole("button", { name: "Sign in" }).waitFor();
  });
  const clustersPage = await timed(renders, async () => {
    await page.goto("about:blank");
    await page.goto(`${base}/#/clusters`);
    await page
      .locator("table tr td a")
      .nth(clusters - 1)
      .waitFor({ timeout: 60_000 });
  });

  const ms = (v: number) => `${Math.round(v)} ms`;
  printTable(
    `Console with ${clusters} clusters (${running} running), ${requests} requests, ${renders} renders`,
    [
      ["measure", "p50", "p95", "baseline", "baseline p50", "ratio (p50 / baseline p50)"],
      [
        "GET /api/clusters",
        ms(median(api)),
        ms(percentile(api, 95)),
        "kube-apiserver list",
        ms(median(direct)),
        (median(api) / median(direct)).toFixed(2),
      ],
      [
        "clusters page, every row shown",
        ms(median(clustersPage)),
        ms(percentile(clustersPage, 95)),
        "sign-in page shown",
        ms(median(signInPage)),
        (median(clustersPage) / median(signInPage)).toFixed(2),
      ],
    ],
  );
} finally {
  await browser.close();
  await app.close();
  await platform.stop();
}
