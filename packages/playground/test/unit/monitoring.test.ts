import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { BUNDLED_ADDONS, findAddons } from "@tessera/addons";
import { runCommand } from "@tessera/base";
import {
  MONITORING_MANIFESTS_DIR,
  monitoringManifests,
  monitoringRuleFiles,
  podTargetGroup,
  prometheusConfig,
} from "@tessera/playground";

const RULE_FILES = monitoringRuleFiles(findAddons(BUNDLED_ADDONS));

/** Runs promtool on files written to a fresh directory, which is removed afterwards. */
async function promtool(args: (dir: string) => string[], files: Record<string, string>) {
  const dir = mkdtempSync(join(process.env.TESSERA_TEST_ROOT ?? tmpdir(), "promtool-"));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const result = await runCommand("promtool", args(dir), { cwd: dir });
    return { code: result.code, output: result.stdout + result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("every addon ships rules and every rule file passes promtool check rules", async () => {
  for (const addon of ["etcd", "postgresql", "redis"])
    assert.ok(
      RULE_FILES.some((f) => f.includes(`/addons/${addon}/monitoring/`)),
      `${addon} has no rules`,
    );
  const result = await promtool(() => ["check", "rules", ...RULE_FILES], {});
  assert.equal(result.code, 0, result.output);
});

test("the playground's Prometheus configuration passes promtool check config, rules included", async () => {
  const config = prometheusConfig({
    discoveryURL: "http://127.0.0.1:1/targets",
    operatorTargets: ["127.0.0.1:2"],
    ruleFiles: RULE_FILES,
  });
  const result = await promtool((dir) => ["check", "config", join(dir, "prometheus.yml")], {
    "prometheus.yml": stringify(config),
  });
  assert.equal(result.code, 0, result.output);
});

const instance = (engine: string, pod: string, role: string, extra = "") =>
  `namespace="ns",cluster="${engine}",component="${engine}-main",pod="${pod}",role="${role}"${extra}`;
const writableChanged = (engine: string, pod: string) => ({
  exp_labels: {
    severity: "info",
    namespace: "ns",
    cluster: engine,
    component: `${engine}-main`,
    pod,
    job: "tessera-instances",
  },
  exp_annotations: {
    summary: `ns/${pod} became the writable instance in the last 10 minutes (failover or switchover)`,
  },
});

test("the rules find a failover, a lost primary, two writable instances and a lagging replica from each engine's metrics", async () => {
  const job = ',job="tessera-instances"';
  const tests = [
    {
      // PostgreSQL: pg-0 is primary, then pg-1 takes over at 5 minutes.
      interval: "30s",
      input_series: [
        { series: `pg_up{${instance("pg", "pg-0", "primary", job)}}`, values: "1x9 stale" },
        { series: `pg_up{${instance("pg", "pg-0", "secondary", job)}}`, values: "_x10 1x10" },
        { series: `pg_up{${instance("pg", "pg-1", "secondary", job)}}`, values: "1x9 stale" },
        { series: `pg_up{${instance("pg", "pg-1", "primary", job)}}`, values: "_x10 1x10" },
      ],
      alert_rule_test: [
        {
          eval_time: "8m",
          alertname: "TesseraWritableInstanceChanged",
          exp_alerts: [writableChanged("pg", "pg-1")],
        },
        { eval_time: "8m", alertname: "TesseraMoreThanOneWritable", exp_alerts: [] },
      ],
    },
    {
      // PostgreSQL: pg-0's server stops at 2m30s (its exporter answers pg_up 0), pg-1 is promoted at 4m30s.
      interval: "30s",
      input_series: [
        { series: `pg_up{${instance("pg", "pg-0", "primary", job)}}`, values: "1x4 0x10" },
        { series: `pg_up{${instance("pg", "pg-1", "secondary", job)}}`, values: "1x8 stale" },
        { series: `pg_up{${instance("pg", "pg-1", "primary", job)}}`, values: "_x9 1x10" },
      ],
      alert_rule_test: [
        { eval_time: "1m", alertname: "TesseraNoWritableInstance", exp_alerts: [] },
        { eval_time: "3m", alertname: "TesseraNoWritableInstance", exp_alerts: [noWritable("pg")] },
        { eval_time: "6m", alertname: "TesseraNoWritableInstance", exp_alerts: [] },
      ],
    },
    {
      // etcd: the leader etcd-0 stops answering its scrapes at 2m30s (its series go stale); the
      // others lose their leader until etcd-1 wins the election at 3m30s.
      interval: "30s",
      input_series: [
        {
          series: `etcd_server_is_leader{${instance("etcd", "etcd-0", "leader", job)}}`,
          values: "1x4 stale",
        },
        {
          series: `etcd_server_has_leader{${instance("etcd", "etcd-0", "leader", job)}}`,
          values: "1x4 stale",
        },
        {
          series: `etcd_server_is_leader{${instance("etcd", "etcd-1", "follower", job)}}`,
          values: "0x6 1x10",
        },
        {
          series: `etcd_server_has_leader{${instance("etcd", "etcd-1", "follower", job)}}`,
          values: "1x4 0x1 1x10",
        },
        { series: `etcd_server_is_leader{${instance("etcd", "etcd-2", "follower", job)}}`, values: "0x16" },
        {
          series: `etcd_server_has_leader{${instance("etcd", "etcd-2", "follower", job)}}`,
          values: "1x4 0x1 1x10",
        },
        {
          series: `grpc_server_handled_total{${instance("etcd", "etcd-1", "follower", `${job},grpc_service="etcdserverpb.KV",grpc_method="Put",grpc_code="OK",grpc_type="unary"`)}}`,
          values: "0+60x16",
        },
      ],
      alert_rule_test: [
        { eval_time: "1m", alertname: "TesseraNoWritableInstance", exp_alerts: [] },
        { eval_time: "3m", alertname: "TesseraNoWritableInstance", exp_alerts: [noWritable("etcd")] },
        { eval_time: "5m", alertname: "TesseraNoWritableInstance", exp_alerts: [] },
        {
          eval_time: "5m",
          alertname: "TesseraWritableInstanceChanged",
          exp_alerts: [writableChanged("etcd", "etcd-1")],
        },
      ],
      promql_expr_test: [
        {
          eval_time: "5m",
          expr: "tessera:throughput_ops",
          exp_samples: [
            {
              labels: `tessera:throughput_ops{job="tessera-instances",namespace="ns",cluster="etcd",component="etcd-main",pod="etcd-1"}`,
              value: 2,
            },
          ],
        },
      ],
    },
    {
      // Redis: both instances say they are master (the exporter's role label, renamed as it meets the target's).
      interval: "30s",
      input_series: [
        {
          series: `redis_instance_info{${instance("rd", "rd-0", "primary", `${job},exported_role="master"`)}}`,
          values: "1x10",
        },
        {
          series: `redis_instance_info{${instance("rd", "rd-1", "secondary", `${job},exported_role="master"`)}}`,
          values: "1x10",
        },
      ],
      alert_rule_test: [
        {
          eval_time: "4m",
          alertname: "TesseraMoreThanOneWritable",
          exp_alerts: [
            {
              exp_labels: { severity: "critical", namespace: "ns", cluster: "rd", component: "rd-main" },
              exp_annotations: { summary: "2 instances of ns/rd (rd-main) accept writes" },
            },
          ],
        },
      ],
    },
    {
      // Replicas 100 MB (PostgreSQL) and 200 MB (Redis) behind for 10 minutes.
      interval: "1m",
      input_series: [
        {
          series: `pg_stat_replication_pg_wal_lsn_diff{${instance("pg", "pg-0", "primary", `${job},application_name="pg-1",client_addr="127.0.0.1",slot_name="1",state="streaming",server="s"`)}}`,
          values: "100000000x10",
        },
        {
          series: `redis_master_repl_offset{${instance("rd", "rd-0", "primary", job)}}`,
          values: "200000000x10",
        },
        {
          series: `redis_connected_slave_offset_bytes{${instance("rd", "rd-0", "primary", `${job},slave_ip="rd-1.rd-headless.ns.svc.cluster.local",slave_port="6379",slave_state="online"`)}}`,
          values: "0x10",
        },
      ],
      alert_rule_test: [
        {
          eval_time: "8m",
          alertname: "TesseraReplicationLag",
          exp_alerts: [
            {
              exp_labels: { severity: "warning", ...labelsOf("pg", "pg-0"), replica: "pg-1" },
              exp_annotations: { summary: "Replica pg-1 of ns/pg is 95.37MiB behind its primary" },
            },
            {
              exp_labels: { severity: "warning", ...labelsOf("rd", "rd-0"), replica: "rd-1" },
              exp_annotations: { summary: "Replica rd-1 of ns/rd is 190.7MiB behind its primary" },
            },
          ],
        },
      ],
    },
  ];
  const result = await promtool((dir) => ["test", "rules", join(dir, "tests.yml")], {
    "tests.yml": stringify({ rule_files: RULE_FILES, evaluation_interval: "30s", tests }),
  });
  assert.equal(result.code, 0, result.output);
});

function noWritable(engine: string) {
  return {
    exp_labels: { severity: "critical", namespace: "ns", cluster: engine, component: `${engine}-main` },
    exp_annotations: { summary: `No instance of ns/${engine} (${engine}-main) accepts writes` },
  };
}

function labelsOf(engine: string, pod: string): Record<string, string> {
  return {
    namespace: "ns",
    cluster: engine,
    component: `${engine}-main`,
    pod,
    role: "primary",
    job: "tessera-instances",
  };
}

test("a discovered pod carries the labels and annotations Kubernetes pod discovery gives it", () => {
  const group = podTargetGroup({
    metadata: {
      namespace: "ns",
      name: "pg-0",
      labels: { "tessera.dev/cluster": "pg" },
      annotations: { "prometheus.io/port": "9187" },
    },
    status: { podIP: "127.1.0.5", phase: "Running" },
  });
  assert.deepEqual(group, {
    targets: ["127.1.0.5"],
    labels: {
      __meta_kubernetes_namespace: "ns",
      __meta_kubernetes_pod_name: "pg-0",
      __meta_kubernetes_pod_ip: "127.1.0.5",
      __meta_kubernetes_pod_phase: "Running",
      __meta_kubernetes_pod_label_tessera_dev_cluster: "pg",
      __meta_kubernetes_pod_annotation_prometheus_io_port: "9187",
    },
  });
  assert.equal(podTargetGroup({ metadata: { name: "pending" }, status: {} }), undefined);
});

test("deploy/monitoring holds the manifests generated from the current rules (npm run generate:monitoring)", () => {
  for (const [name, content] of Object.entries(monitoringManifests(findAddons(BUNDLED_ADDONS))))
    assert.equal(readFileSync(join(MONITORING_MANIFESTS_DIR, name), "utf8"), content, `${name} is stale`);
});
