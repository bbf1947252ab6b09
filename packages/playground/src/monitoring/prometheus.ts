import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { ManagedProcess, freePort } from "@tessera/base";
import { StopWaiting, waitFor, type KubeClient } from "@tessera/kube";
import { prometheusConfig, type PrometheusConfigOptions } from "./config.js";
import { PodDiscovery } from "./discovery.js";

/** The identity Prometheus discovers pods as; it may only read pods. */
export const MONITORING_USER = "tessera:monitoring";
const MONITORING_ROLE = "tessera-monitoring";

/** Lets MONITORING_USER list and watch pods cluster-wide, which pod discovery needs and nothing more. */
export async function grantMonitoringAccess(client: KubeClient, fieldManager: string): Promise<void> {
  await client.apply(
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: MONITORING_ROLE },
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
    },
    fieldManager,
  );
  await client.apply(
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: MONITORING_ROLE },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: MONITORING_ROLE },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: MONITORING_USER }],
    },
    fieldManager,
  );
}

export interface PrometheusOptions extends Omit<PrometheusConfigOptions, "discoveryURL"> {
  /** Configuration and time-series data live here. */
  dir: string;
  /** Kubeconfig of the identity that discovers pods through the apiserver (MONITORING_USER). */
  kubeconfig: string;
  logFile: string;
  /** How long samples are kept (default 24h). */
  retentionTime?: string;
  /** The most the data may take on disk; oldest blocks go first (default 512MB). */
  retentionSize?: string;
  readyTimeoutMs?: number;
}

/** One sample of an instant query: the series' labels and its value. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

/**
 * Debian's Prometheus server as a process on a loopback port the kernel
 * picked, with the pod discovery it reads its instances from.
 */
export class PrometheusServer {
  private constructor(
    private readonly process: ManagedProcess,
    private readonly discovery: PodDiscovery,
    readonly url: string,
    readonly dir: string,
  ) {}

  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    mkdirSync(join(options.dir, "data"), { recursive: true });
    const discovery = await PodDiscovery.start(options.kubeconfig);
    const configFile = join(options.dir, "prometheus.yml");
    writeFileSync(configFile, stringify(prometheusConfig({ ...options, discoveryURL: discovery.url })));
    const port = await freePort();
    const process = ManagedProcess.start({
      name: "prometheus",
      command: "prometheus",
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(options.dir, "data")}`,
        `--storage.tsdb.retention.time=${options.retentionTime ?? "24h"}`,
        `--storage.tsdb.retention.size=${options.retentionSize ?? "512MB"}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      logFile: options.logFile,
    });
    const server = new PrometheusServer(process, discovery, `http://127.0.0.1:${port}`, options.dir);
    try {
      await waitFor(
        async () => {
          if (!process.running) throw new StopWaiting(process.exitError());
          return (await fetch(`${server.url}/-/ready`).catch(() => undefined))?.ok;
        },
        {
          description: "Prometheus to become ready",
          timeoutMs: options.readyTimeoutMs ?? 60_000,
          intervalMs: 200,
        },
      );
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get running(): boolean {
    return this.process.running;
  }

  /** GET of an HTTP API path; fails on an error status or an API error. */
  async api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
    const res = await fetch(`${this.url}/api/v1/${path}?${new URLSearchParams(params)}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (!res.ok || body.status !== "success")
      throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  /** An instant query's vector. */
  async query(expr: string): Promise<Sample[]> {
    const data = await this.api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
      "query",
      { query: expr },
    );
    return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Stops the server; its data stays in the directory. */
  async stop(): Promise<void> {
    await this.process.stop(10_000);
    await this.discovery.stop();
  }

  /** Stops the server and removes its directory. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
