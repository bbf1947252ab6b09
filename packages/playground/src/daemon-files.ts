import { existsSync, readFileSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";

export interface Progress {
  step: string;
  ready?: boolean;
  error?: string;
  kubeconfig?: string;
  /** The playground Prometheus's address. */
  prometheusURL?: string;
  /** The web console's address, when its app is built. */
  consoleURL?: string;
  startedAt: number;
  readyAt?: number;
}

export function writePidFile(dir: string): void {
  writeFileSync(join(dir, "daemon.pid"), String(process.pid));
}

export function clearPidFile(dir: string): void {
  rmSync(join(dir, "daemon.pid"), { force: true });
}

/** The running supervisor's pid, if its pid file names a live process. */
export function daemonPid(dir: string): number | undefined {
  const file = join(dir, "daemon.pid");
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8"));
  return processAlive(pid) ? pid : undefined;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Written atomically so a reader never sees half a file. */
export function writeProgress(dir: string, progress: Progress): void {
  const file = join(dir, "progress.json");
  writeFileSync(`${file}.tmp`, JSON.stringify(progress));
  renameSync(`${file}.tmp`, file);
}

export function readProgress(dir: string): Progress | undefined {
  const file = join(dir, "progress.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Progress) : undefined;
}
