import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { constants } from "node:os";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

/**
 * Joins the cgroups named before `--` (by writing its own pid into each
 * `cgroup.procs`) and then execs the rest, so a process is accounted and
 * limited from its first instruction.
 */
const JOIN_CGROUPS = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 126; shift; done; shift; exec "$@"';

/**
 * The command prefix that puts a process into cgroups and ties its life to
 * the hostlet: `setpriv --pdeathsig SIGKILL` makes the kernel kill it if
 * the hostlet dies without cleaning up, even by SIGKILL.
 */
export function supervisedCommand(cgroupProcs: string[], command: string[]): string[] {
  return [
    "setpriv",
    "--pdeathsig",
    "SIGKILL",
    "--",
    "sh",
    "-c",
    JOIN_CGROUPS,
    "sh",
    ...cgroupProcs,
    "--",
    ...command,
  ];
}

export interface ExitStatus {
  exitCode: number;
  /** Set when the sandbox itself was killed by a signal before the command reported its exit. */
  signal?: NodeJS.Signals;
}

export interface SandboxLaunch {
  bwrapArgs: string[];
  env: Record<string, string>;
  cgroupProcs: string[];
  logFile: string;
}

/**
 * One container: a bubblewrap sandbox whose pid-namespace init (bwrap's
 * reaper) is reported through `--json-status-fd`, with stdout and stderr
 * appended to the container's log file.
 */
export class SandboxProcess {
  readonly exited: Promise<ExitStatus>;
  /** Host pid of the sandbox's init process, once bubblewrap has set it up. */
  readonly ready: Promise<number | undefined>;
  private reaperPid?: number;
  private finished = false;

  private constructor(private readonly child: ChildProcess) {
    let reportedExit: number | undefined;
    let resolveReady!: (pid: number | undefined) => void;
    this.ready = new Promise((resolve) => (resolveReady = resolve));
    const status = createInterface({ input: child.stdio[3] as Readable });
    status.on("line", (line) => {
      try {
        const message = JSON.parse(line) as { "child-pid"?: number; "exit-code"?: number };
        const pid = message["child-pid"];
        if (pid !== undefined) {
          void untilSetUp(pid, () => this.finished).then((ok) => {
            if (ok) this.reaperPid = pid;
            resolveReady(ok ? pid : undefined);
          });
        }
        if (message["exit-code"] !== undefined) reportedExit = message["exit-code"];
      } catch {
        // Not a status line; bubblewrap writes only JSON here.
      }
    });
    this.exited = new Promise((resolve) => {
      child.once("close", (code, signal) => {
        this.finished = true;
        resolveReady(undefined);
        if (reportedExit !== undefined) resolve({ exitCode: reportedExit });
        else if (signal) resolve({ exitCode: 128 + (constants.signals[signal] ?? 9), signal });
        else resolve({ exitCode: code ?? 1 });
      });
      child.once("error", () => {
        this.finished = true;
        resolveReady(undefined);
        resolve({ exitCode: 127 });
      });
    });
  }

  static start(launch: SandboxLaunch): SandboxProcess {
    const logFd = openSync(launch.logFile, "a");
    try {
      const [command, ...args] = supervisedCommand(launch.cgroupProcs, [
        "bwrap",
        "--json-status-fd",
        "3",
        ...launch.bwrapArgs,
      ]);
      const child = spawn(command!, args, {
        env: launch.env,
        stdio: ["ignore", logFd, logFd, "pipe"],
      });
      return new SandboxProcess(child);
    } finally {
      closeSync(logFd);
    }
  }

  get pid(): number | undefined {
    return this.reaperPid;
  }

  get running(): boolean {
    return !this.finished;
  }

  /**
   * Signals the container's process group. bubblewrap's --new-session makes
   * the sandbox init the group leader; as a pid-namespace init it ignores
   * signals it has no handler for, so only the command and its children
   * receive them.
   */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.reaperPid || this.finished) return;
    try {
      process.kill(-this.reaperPid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Kills the whole sandbox: when the namespace's init dies the kernel kills everything in it. */
  kill(): void {
    if (this.finished) return;
    if (this.reaperPid) {
      try {
        process.kill(this.reaperPid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    this.child.kill("SIGKILL");
  }
}

/**
 * bubblewrap reports its init's pid before the sandbox's mounts exist; the
 * init forks the command only once they do. Entering the sandbox (exec,
 * probes) must wait for that child.
 */
async function untilSetUp(pid: number, gone: () => boolean): Promise<boolean> {
  const children = `/proc/${pid}/task/${pid}/children`;
  for (let waited = 0; waited < 30_000 && !gone(); waited += 10) {
    try {
      if (readFileSync(children, "utf8").trim()) return true;
    } catch {
      return false;
    }
    await delay(10);
  }
  return false;
}
