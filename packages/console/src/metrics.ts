/** The time ranges the performance charts offer, in seconds, and their sample steps. */
export const RANGES: Record<string, { seconds: number; step: number }> = {
  "15m": { seconds: 900, step: 15 },
  "1h": { seconds: 3600, step: 30 },
  "6h": { seconds: 21_600, step: 120 },
  "24h": { seconds: 86_400, step: 600 },
};

/**
 * The charts of a cluster, from the common series each addon's rules record
 * (see docs/monitoring.md), one line per instance (or per replica for lag).
 */
const CHARTS = [
  { id: "throughput", title: "Throughput (operations/s)", series: "tessera:throughput_ops", by: "pod" },
  { id: "connections", title: "Connections", series: "tessera:connections", by: "pod" },
  { id: "lag", title: "Replication lag (bytes)", series: "tessera:replication_lag_bytes", by: "replica" },
  { id: "up", title: "Database up", series: "tessera:engine_up", by: "pod" },
] as const;

export interface Chart {
  id: string;
  title: string;
  /** Sample times (Unix seconds), shared by every line. */
  times: number[];
  lines: { label: string; values: (number | null)[] }[];
}

interface Matrix {
  status: string;
  error?: string;
  data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
}

/** PromQL's label-value quoting. */
function quote(value: string): string {
  return JSON.stringify(value);
}

/** Each chart of a cluster over a range, aligned on one time axis (missing samples are null). */
export async function clusterCharts(
  prometheusURL: string,
  namespace: string,
  cluster: string,
  range: string,
  now = Date.now() / 1000,
): Promise<Chart[]> {
  const { seconds, step } = RANGES[range] ?? RANGES["1h"]!;
  const end = Math.floor(now / step) * step;
  const start = end - seconds;
  const times: number[] = [];
  for (let t = start; t <= end; t += step) times.push(t);
  return Promise.all(
    CHARTS.map(async (chart) => {
      const query = `sum by (${chart.by}) (${chart.series}{namespace=${quote(namespace)}, cluster=${quote(cluster)}})`;
      const params = new URLSearchParams({
        query,
        start: String(start),
        end: String(end),
        step: String(step),
      });
      const response = await fetch(`${prometheusURL}/api/v1/query_range?${params}`);
      const body = (await response.json()) as Matrix;
      if (body.status !== "success") throw new Error(`Prometheus: ${body.error ?? response.status}`);
      const lines = body.data.result
        .map((series) => {
          const byTime = new Map(series.values.map(([t, v]) => [t, Number(v)]));
          return { label: series.metric[chart.by] ?? "", values: times.map((t) => byTime.get(t) ?? null) };
        })
        .sort((a, b) => a.label.localeCompare(b.label));
      return { id: chart.id, title: chart.title, times, lines };
    }),
  );
}
