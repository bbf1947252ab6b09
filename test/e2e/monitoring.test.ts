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
const ETCD = join(BUNDLED_ADDONS, "etcd");
const REDIS = join(BUNDLED_ADDONS, "redis");
const ADDONS = [POSTGRESQL, ETCD, REDIS];

let platform: TestPlatform;
let prometheus: PrometheusServer;
let ns: string;

before(async () => {
  platform = await TestPlatform.start({ addons: ADDONS });
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
    ruleFiles: monitoringRuleFiles(ADDONS),
    interval: "2s",
  });
  ns = await platform.cluster.createNamespace("monitoring");
});

after(async () => {
  await prometheus?.destroy();
  await platform?.stop();
});

/** Waits until the query (or the one expr() builds at each try) returns samples that satisfy the check, and returns them. */
async function queryUntil(
  expr: string | (() => string),
  check: (samples: Sample[]) => boolean,
  what: string,
): Promise<Sample[]> {
  let last: Sample[] = [];
  let sent = "";
  return waitFor(
    async () => {
      sent = typeof expr === "string" ? expr : expr();
      last = await prometheus.query(sent);
      return check(last) ? last : undefined;
    },
    { description: what, timeoutMs: 90_000, intervalMs: 1000 },
  ).catch((error: Error) => {
    error.message += `; last result of ${sent}: ${JSON.stringify(last)}`;
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

test("a frozen primary raises the no-writable-instance alert, which failover clears while it is still frozen", async () => {
  const primary = (await platform.instances(ns, `${CLUSTER}-postgresql`)).find(
    (p) => p.metadata?.labels?.[labels.role] === "primary",
  )!.metadata!.name!;
  const alert = `ALERTS{alertname="TesseraNoWritableInstance", alertstate="firing", namespace="${ns}", cluster="${CLUSTER}"}`;
  const faults = await platform.hostlet.faults();
  const frozenAt = Date.now();
  await faults.freeze(ns, primary);
  try {
    // Over the time since the freeze, so that a firing shorter than a poll is not missed.
    await queryUntil(
      () => `max_over_time(${alert}[${Math.ceil((Date.now() - frozenAt) / 1000) + 1}s])`,
      (samples) => samples.length === 1,
      "the no-writable-instance alert to fire",
    );
    await queryUntil(alert, (samples) => samples.length === 0, "failover to clear the alert");
    const writable = await queryUntil(
      `tessera:instance_writable{namespace="${ns}", cluster="${CLUSTER}"} == 1`,
      (samples) => samples.length === 1,
      "one writable instance",
    );
    assert.notEqual(
      writable[0]!.metric.pod,
      primary,
      "the old primary is frozen: another instance took over",
    );
  } finally {
    await faults.thaw(ns, primary);
  }
  await waitFor(
    async () => {
      const pods = await platform.instances(ns, `${CLUSTER}-postgresql`);
      const roles = pods
        .filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
        .map((p) => p.metadata?.labels?.[labels.role])
        .sort();
      return roles.join() === "primary,secondary" || undefined;
    },
    { description: "the old primary to rejoin as a ready secondary", timeoutMs: 120_000 },
  );
  await platform.waitForPhase(ns, CLUSTER, "Running", 60_000);
});

test("a one-member etcd and a standalone Redis are scraped too: each instance is up and recorded writable", async () => {
  const volume = (size: string) => `      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: ${size} } } }
`;
  await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: etcd, namespace: ${ns} }
spec:
  clusterDef: etcd
  topology: cluster
  terminationPolicy: Delete
  componentSpecs:
    - name: etcd
      replicas: 1
${volume("1Gi")}---
apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: redis, namespace: ${ns} }
spec:
  clusterDef: redis
  topology: standalone
  terminationPolicy: Delete
  componentSpecs:
    - name: redis
      replicas: 1
${volume("1Gi")}`);
  for (const cluster of ["etcd", "redis"]) {
    await platform.waitForPhase(ns, cluster, "Running", 120_000);
    const pods = (await platform.instances(ns, `${cluster}-${cluster}`)).map((p) => p.metadata!.name!);
    const up = await queryUntil(
      `up{job="tessera-instances", namespace="${ns}", cluster="${cluster}"}`,
      (samples) => samples.length === 1 && samples[0]!.value === 1,
      `the ${cluster} instance to be scraped`,
    );
    assert.deepEqual(
      up.map((s) => s.metric.pod),
      pods,
    );
    await queryUntil(
      `tessera:engine_up{namespace="${ns}", cluster="${cluster}"} * on (pod) tessera:instance_writable`,
      (samples) => samples.length === 1 && samples[0]!.value === 1,
      `the ${cluster} rules to record its instance as up and writable`,
    );
  }
});
