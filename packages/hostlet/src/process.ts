import { fileURLToPath } from "node:url";
import type { V1Node } from "@kubernetes/client-node";
import { waitFor, StopWaiting, type KubeClient } from "@tessera/kube";
import { FaultClient } from "./faults/client.js";
import { HOSTLET_MAIN, cleanupNode } from "./cleanup.js";
import { ManagedProcess, bundle } from "@tessera/base";

/** The repository root: the hostlet's working directory. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** What a hostlet process runs: its sources as one bundle (see `bundle`), built when out of date. */
const HOSTLET_BUNDLE = fileURLToPath(new URL("../dist/tessera-hostlet.mjs", import.meta.url));

export function hostletBundle(): Promise<string> {
  return bundle({ entry: HOSTLET_MAIN, outfile: HOSTLET_BUNDLE });
}

export interface HostletProcessOptions {
  nodeName: string;
  kubeconfig: string;
  stateDir: string;
  caCertPath: string;
  caKeyPath: string;
  podCIDR: string;
  serviceCIDR: string;
  logFile: string;
  /** CrashLoopBackOff base delay in ms (the kubelet's 10 s by default). */
  restartBackoffMs?: number;
}

/** A hostlet node agent run as a child process, so it can be stopped, restarted and killed like a real node. */
export class HostletProcess {
  private process?: ManagedProcess;

  constructor(
    readonly options: HostletProcessOptions,
    private readonly client: KubeClient,
  ) {}

  get nodeName(): string {
    return this.options.nodeName;
  }

  get podCIDR(): string {
    return this.options.podCIDR;
  }

  get stateDir(): string {
    return this.options.stateDir;
  }

  get running(): boolean {
    return this.process?.running ?? false;
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  private args(): string[] {
    const o = this.options;
    return [
      `--kubeconfig=${o.kubeconfig}`,
      `--node-name=${o.nodeName}`,
      `--state-dir=${o.stateDir}`,
      `--ca-cert=${o.caCertPath}`,
      `--ca-key=${o.caKeyPath}`,
      `--pod-cidr=${o.podCIDR}`,
      `--service-cidr=${o.serviceCIDR}`,
      ...(o.restartBackoffMs ? [`--restart-backoff=${o.restartBackoffMs}`] : []),
    ];
  }

  /** Starts the hostlet and waits for its Node to be Ready without the not-ready taint. */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.process?.running) return;
    const entry = await hostletBundle();
    const started = Date.now();
    const proc = ManagedProcess.start({
      name: "hostlet",
      command: process.execPath,
      args: [entry, ...this.args()],
      logFile: this.options.logFile,
      cwd: ROOT,
    });
    this.process = proc;
    await waitFor(
      async () => {
        if (!proc.running) throw new StopWaiting(proc.exitError());
        const node = await this.client.find<V1Node>({ apiVersion: "v1", kind: "Node", name: this.nodeName });
        const ready = node?.status?.conditions?.find((c) => c.type === "Ready");
        const heartbeat = Date.parse(String(ready?.lastHeartbeatTime ?? ""));
        const tainted = node?.spec?.taints?.some((t) => t.key === "node.kubernetes.io/not-ready");
        return ready?.status === "True" && heartbeat >= started - 1000 && !tainted;
      },
      { description: `hostlet node ${this.nodeName} to become ready`, timeoutMs, intervalMs: 200 },
    ).catch((error: Error) => {
      error.message += `\nhostlet log:\n${proc.logTail(30)}`;
      throw error;
    });
  }

  /** Graceful stop (SIGTERM): containers are stopped, routes removed. */
  async stop(): Promise<void> {
    await this.process?.stop(30_000);
  }

  /** SIGKILL: the kernel kills every sandbox with it (pdeathsig); iptables chains stay until cleanup. */
  async kill(): Promise<void> {
    this.process?.signal("SIGKILL");
    await this.process?.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Fault injection on this node (kill, freeze, isolate). */
  faults(): Promise<FaultClient> {
    return FaultClient.forNode(this.client, this.nodeName);
  }

  logTail(lines = 50): string {
    return this.process?.logTail(lines) ?? "";
  }

  /** Stops the hostlet and removes what a killed one may have left (iptables chains, cgroups). */
  async cleanup(): Promise<void> {
    await this.stop();
    await cleanupNode(this.nodeName);
  }
}
