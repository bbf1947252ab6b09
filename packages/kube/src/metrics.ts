import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * One registry per process; the operator serves it on /metrics. The runtime's
 * metrics keep their standard names (`process_*`, `nodejs_*`) so stock
 * dashboards and alerts find them; Tessera's own carry the `tessera_` prefix.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

export const queueDepth = new Gauge({
  name: "tessera_workqueue_depth",
  help: "Keys waiting in a controller's work queue.",
  labelNames: ["controller"],
  registers: [metricsRegistry],
});

export const reconcileTotal = new Counter({
  name: "tessera_reconcile_total",
  help: "Reconciles by controller and result (success, error, requeue).",
  labelNames: ["controller", "result"],
  registers: [metricsRegistry],
});

export const reconcileErrors = new Counter({
  name: "tessera_reconcile_errors_total",
  help: "Reconciles that failed, by controller.",
  labelNames: ["controller"],
  registers: [metricsRegistry],
});

export const reconcileDuration = new Histogram({
  name: "tessera_reconcile_duration_seconds",
  help: "Time spent in one reconcile, by controller.",
  labelNames: ["controller"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});
