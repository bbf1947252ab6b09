import { spawn, type ChildProcess } from "node:child_process";
import { supervisedCommand } from "./sandbox-process.js";

export interface SandboxExecOptions {
  /** Host pid of the sandbox's init, whose namespaces and root the command enters. */
  sandboxPid: number;
  command: string[];
  env: Record<string, string>;
  user?: { uid: number; gid: number; groups: number[] };
  workingDir?: string;
  /** Run under a pseudo-terminal (through script(1), as Node has none of its own). */
  tty: boolean;
  cgroupProcs: string[];
}

/** Quotes words for `sh -c`. */
export function shellQuote(words: string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** The command line that runs `command` inside a running container, as `kubectl exec` and exec probes do. */
export function sandboxExecCommand(options: SandboxExecOptions): string[] {
  const enter = [
    "nsenter",
    "-t",
    String(options.sandboxPid),
    "-m",
    "-u",
    "-i",
    "-p",
    "-r",
    // nsenter opens the directory before entering the root, so name it through the sandbox's root.
    `--wd=/proc/${options.sandboxPid}/root${options.workingDir || "/"}`,
    "--",
  ];
  const user = options.user;
  const switchUser =
    user && (user.uid !== 0 || user.gid !== 0 || user.groups.length > 0)
      ? [
          "setpriv",
          `--reuid=${user.uid}`,
          `--regid=${user.gid}`,
          user.groups.length > 0 ? `--groups=${user.groups.join(",")}` : "--clear-groups",
          "--",
        ]
      : [];
  const run = options.tty ? ["script", "-qefc", shellQuote(options.command), "/dev/null"] : options.command;
  return supervisedCommand(options.cgroupProcs, [...enter, ...switchUser, ...run]);
}

/** Starts a command in a container; its own process group, so it can be killed with everything it started. */
export function spawnInSandbox(options: SandboxExecOptions): ChildProcess {
  const [command, ...args] = sandboxExecCommand(options);
  return spawn(command!, args, {
    env: { ...options.env, ...(options.tty ? { TERM: options.env.TERM ?? "xterm" } : {}) },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
}

/** Kills an exec'd command and everything in its process group. */
export function killExec(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}
