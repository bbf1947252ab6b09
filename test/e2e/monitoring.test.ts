import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitFor } from "@tessera/kube";
import { labels } from "@tessera/api";
import { BUNDLED_ADDONS } from "@tessera/addons";
import {
  MONITORING_USER,
  PrometheusServer,
  grantMonitoringAccess,
  monitoringRuleFiles,
  type Sample,
} from "@tessera/playground";
import { TestPlatform } from "../support/platform.js";

const CLUSTER = "pg";
const POSTGRESQL = join(BUNDLED_ADDONS, "postgresql");

let platform: TestPlatform;
let prometheus: PrometheusServer;
let ns: string;

before(async () => {
  platform = await TestPlatform.start({ addons: [POSTGRESQL] });
  await grantMonitoringAccess(platform.client, "tessera-test");
  const kubeconfig = await platform.cluster.plane.writeKubeconfig(
    join(platform.cluster.dir, "monitoring.kubeconfig"),
    {
      user: MONITORING_USER,
      groups: [],
    },
  );
  prometheus = await PrometheusServer.start({
    dir: join(platform.cluster.dir, "prometheus"),
    logFile: join(platform.cluster.dir, "prometheus.log"),
    kubeconfig,
    operatorTargets: [`127.0.0.1:${platform.operator.metricsPort}`],
    ruleFiles: monitoringRuleFiles([POSTGRESQL]),
    interval: "2s",
  });
  ns = await platform.cluster.createNamespace("monitoring");
});

after(async () => {
  await prometheus?.destroy();
  await platform?.stop();
});

/** Waits until the query returns samples that satisfy the check, and returns them. */
async function queryUntil(
  expr: string,
  check: (samples: Sample[]) => boolean,
  what: string,
): Promise<Sample[]> {
  let last: Sample[] = [];
  return waitFor(
    async () => {
      last = await prometheus.query(expr);
      return check(last) ? last : undefined;
    },
    { description: what, timeoutMs: 90_000, intervalMs: 1000 },
  ).catch((error: Error) => {
    error.message += `; last result of ${expr}: ${JSON.stringify(last)}`;
    throw error;
  });
}

test("Prometheus discovers each instance's exporter through the apiserver and scrapes it and the operator", async () => {
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${CLUSTER}, namespace: ${ns} }
spec:
  clusterDef: postgresql
  topology: replication
  terminationPolicy: Delete
  componentSpecs:
    - name: postgresql
      replicas: 2
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
`);
  await platform.waitForPhase(ns, CLUSTER, "Running", 240_000);
  const pods = (await platform.instances(ns, `${CLUSTER}-postgresql`)).map((p) => p.metadata!.name!);
  const up = await queryUntil(
    `up{job="tessera-instances", namespace="${ns}", cluster="${CLUSTER}"}`,
    (samples) => samples.length === pods.length && samples.every((s) => s.value === 1 && s.metric.role),
    "every PostgreSQL instance's exporter to be scraped, labelled with its role",
  );
  assert.deepEqual(up.map((s) => s.metric.pod).sort(), pods);
  assert.deepEqual(up.map((s) => s.metric.role).sort(), ["primary", "secondary"]);
  await queryUntil(
    'up{job="tessera-operator"}',
    (s) => s.length === 1 && s[0]!.value === 1,
    "the operator to be up",
  );
  await queryUntil(
    `tessera:engine_up{namespace="${ns}", cluster="${CLUSTER}"}`,
    (samples) => samples.length === pods.length && samples.every((s) => s.value === 1),
    "the PostgreSQL rules to record every instance as up",
  );
  await queryUntil(
    `sum(tessera:instance_writable{namespace="${ns}", cluster="${CLUSTER}"})`,
    (samples) => samples.length === 1 && samples[0]!.value === 1,
    "the PostgreSQL rules to record one writable instance",
  );
});

test("a frozen instance's failed scrapes raise the instance-down alert, which clears once it thaws", async () => {
  const replica = (await platform.instances(ns, `${CLUSTER}-postgresql`)).find(
    (p) => p.metadata?.labels?.[labels.role] === "secondary",
  )!;
  const faults = await platform.hostlet.faults();
  await faults.freeze(ns, replica.metadata!.name!);
  try {
    await queryUntil(
      `ALERTS{alertname="TesseraInstanceDown", pod="${replica.metadata!.name}"}`,
      (samples) => samples.length === 1,
      "the instance-down alert to be pending",
    );
  } finally {
    await faults.thaw(ns, replica.metadata!.name!);
  }
  await queryUntil(
    `ALERTS{alertname="TesseraInstanceDown", pod="${replica.metadata!.name}"}`,
    (samples) => samples.length === 0,
    "the instance-down alert to clear",
  );
});
