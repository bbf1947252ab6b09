import { spawn, type ChildProcess } from "node:child_process";
import { openSync, closeSync, readFileSync, existsSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";

export interface ProcessSpec {
  /** Short name used in errors, e.g. "kube-apiserver". */
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A child process whose output goes to a log file and which cannot outlive
 * the Node process that started it: it is launched through `setpriv
 * --pdeathsig SIGKILL`, so the kernel kills it if its parent dies without
 * cleaning up (a crashed test runner, a SIGKILLed supervisor).
 */
export class ManagedProcess {
  readonly exited: Promise<ExitStatus>;
  private exitStatus: ExitStatus | undefined;

  private constructor(
    readonly spec: ProcessSpec,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
      child.once("error", () => {
        this.exitStatus ??= { code: 127, signal: null };
        resolve(this.exitStatus);
      });
    });
  }

  static start(spec: ProcessSpec): ManagedProcess {
    const logFd = openSync(spec.logFile, "a");
    try {
      const child = spawn("setpriv", ["--pdeathsig", "SIGKILL", "--", spec.command, ...spec.args], {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: ["ignore", logFd, logFd],
      });
      return new ManagedProcess(spec, child);
    } finally {
      closeSync(logFd);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** The last lines of the process log, for error messages. */
  logTail(lines = 15): string {
    if (!existsSync(this.spec.logFile)) return "";
    const text = readFileSync(this.spec.logFile, "utf8").trimEnd();
    return text.split("\n").slice(-lines).join("\n");
  }

  /** An error describing an unexpected exit, with the log tail. */
  exitError(): Error {
    const status = this.exitStatus;
    const how = status?.signal ? `signal ${status.signal}` : `code ${status?.code}`;
    return new Error(`${this.spec.name} exited (${how}): ${this.logTail()}`);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL after the grace period. Resolves once the process is gone. */
  async stop(graceMs = 5000): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.child.kill("SIGTERM");
    const timer = delay(graceMs).then(() => "timeout" as const);
    if ((await Promise.race([this.exited, timer])) === "timeout") this.child.kill("SIGKILL");
    return this.exited;
  }
}
