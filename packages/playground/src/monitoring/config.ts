import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MANAGED_BY, labels, scrapeAnnotations } from "@tessera/api";
import { podMetaLabel } from "./discovery.js";

/** The engine-neutral rules (operator, backups, volumes); each addon ships its own next to it. */
export const CORE_RULES = fileURLToPath(
  new URL("../../../../deploy/monitoring/rules/tessera.yaml", import.meta.url),
);

/** The rule files a Prometheus loads for these addons: the core rules and each addon's monitoring/*.yaml. */
export function monitoringRuleFiles(addonDirs: string[]): string[] {
  const addonRules = addonDirs.flatMap((dir) => {
    const monitoring = join(dir, "monitoring");
    if (!existsSync(monitoring)) return [];
    return readdirSync(monitoring)
      .filter((file) => /\.ya?ml$/.test(file))
      .sort()
      .map((file) => join(monitoring, file));
  });
  return [CORE_RULES, ...addonRules];
}

export interface PrometheusConfigOptions {
  /** URL of the HTTP service discovery that lists Tessera's pods (PodDiscovery). */
  discoveryURL: string;
  /** host:port of operators that run outside the cluster (the playground's), scraped directly. */
  operatorTargets: string[];
  ruleFiles: string[];
  /** Scrape, rule evaluation and discovery refresh interval (default 15s). */
  interval?: string;
}

/**
 * How a discovered pod becomes a target: only pods Tessera manages that
 * carry the scrape annotations (which the operator writes from the
 * definition's exporter declaration), at the annotated port and path, with
 * the namespace, pod, cluster, component and role of the instance as labels,
 * which the alerting rules group by. Written against Kubernetes pod discovery
 * labels, so it serves `kubernetes_sd_configs` as well.
 */
export function instanceRelabeling(): object[] {
  return [
    { source_labels: [podMetaLabel("label", labels.managedBy)], action: "keep", regex: MANAGED_BY },
    { source_labels: [podMetaLabel("annotation", scrapeAnnotations.scrape)], action: "keep", regex: "true" },
    { source_labels: ["__meta_kubernetes_pod_phase"], action: "drop", regex: "Succeeded|Failed" },
    // Kubernetes discovery yields a target per container port; all become the annotated port, so one per pod.
    {
      source_labels: ["__meta_kubernetes_pod_ip", podMetaLabel("annotation", scrapeAnnotations.port)],
      regex: "(.+);(\\d+)",
      replacement: "$1:$2",
      target_label: "__address__",
    },
    {
      source_labels: [podMetaLabel("annotation", scrapeAnnotations.path)],
      regex: "(.+)",
      target_label: "__metrics_path__",
    },
    { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
    { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
    { source_labels: [podMetaLabel("label", labels.cluster)], target_label: "cluster" },
    { source_labels: [podMetaLabel("label", labels.component)], target_label: "component" },
    { source_labels: [podMetaLabel("label", labels.role)], target_label: "role" },
  ];
}

/** The playground Prometheus's configuration: the operator it started, and every instance discovered. */
export function prometheusConfig(options: PrometheusConfigOptions): object {
  const interval = options.interval ?? "15s";
  return {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles,
    scrape_configs: [
      {
        job_name: "tessera-operator",
        static_configs: [{ targets: options.operatorTargets }],
      },
      {
        job_name: "tessera-instances",
        http_sd_configs: [{ url: options.discoveryURL, refresh_interval: interval }],
        relabel_configs: instanceRelabeling(),
      },
    ],
  };
}
