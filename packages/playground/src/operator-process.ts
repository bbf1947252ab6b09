import { join } from "node:path";
import { OPERATOR_NAMESPACE } from "@tessera/api";
import { waitFor, StopWaiting } from "@tessera/kube";
import { ManagedProcess } from "@tessera/base";
import { freePort } from "@tessera/base";
import { operatorBundle } from "./operator-bundle.js";
import { REPOSITORY_ROOT as ROOT } from "./repository-root.js";

export interface OperatorProcessOptions {
  kubeconfig: string;
  /** Directory for the operator's log file. */
  logDir: string;
  namespace?: string;
  leaderElect?: boolean;
  /** Serve the admission webhook on 127.0.0.1 (registered by URL). */
  webhook?: boolean;
  readyTimeoutMs?: number;
  /** Seconds a restarted operator waits for a killed leader's Lease to expire (default 15). */
  leaseDurationSeconds?: number;
  /** Name used for the log file, so several operators can share a directory. */
  name?: string;
}

/** The operator as a separate process, the way it runs out of cluster (playground, tests). */
export class OperatorProcess {
  private constructor(
    private process: ManagedProcess,
    readonly metricsPort: number,
    private readonly options: OperatorProcessOptions,
  ) {}

  static async start(options: OperatorProcessOptions): Promise<OperatorProcess> {
    const metricsPort = await freePort();
    const operator = new OperatorProcess(
      await OperatorProcess.spawn(options, metricsPort),
      metricsPort,
      options,
    );
    await operator.waitReady();
    return operator;
  }

  private static async spawn(options: OperatorProcessOptions, metricsPort: number): Promise<ManagedProcess> {
    const args = [
      await operatorBundle(),
      "--kubeconfig",
      options.kubeconfig,
      "--namespace",
      options.namespace ?? OPERATOR_NAMESPACE,
      "--metrics-bind-address",
      `127.0.0.1:${metricsPort}`,
      ...(options.leaderElect === false ? ["--no-leader-elect"] : []),
      ...(options.leaseDurationSeconds
        ? ["--leader-elect-lease-duration", String(options.leaseDurationSeconds)]
        : []),
      ...(options.webhook === false ? [] : ["--webhook-host", "127.0.0.1", "--webhook-port", "0"]),
    ];
    return ManagedProcess.start({
      name: "tessera-operator",
      command: process.execPath,
      args,
      cwd: ROOT,
      logFile: join(options.logDir, `${options.name ?? "operator"}.log`),
    });
  }

  private async waitReady(): Promise<void> {
    await waitFor(
      async () => {
        if (!this.process.running) throw new StopWaiting(this.process.exitError());
        const res = await fetch(`http://127.0.0.1:${this.metricsPort}/readyz`);
        return res.ok;
      },
      {
        description: "the operator to become ready",
        timeoutMs: this.options.readyTimeoutMs ?? 60_000,
        intervalMs: 200,
      },
    );
  }

  get running(): boolean {
    return this.process.running;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  logTail(lines = 30): string {
    return this.process.logTail(lines);
  }

  /** Simulates a crash: SIGKILL, no cleanup. */
  async kill(): Promise<void> {
    this.process.signal("SIGKILL");
    await this.process.exited;
  }

  /** Starts a fresh process after a stop or kill. */
  async restart(): Promise<void> {
    if (this.process.running) await this.process.stop();
    this.process = await OperatorProcess.spawn(this.options, this.metricsPort);
    await this.waitReady();
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text();
  }

  async stop(): Promise<void> {
    await this.process.stop(10_000);
  }
}
