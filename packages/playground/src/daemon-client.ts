import { spawn } from "node:child_process";
import { mkdirSync, openSync, closeSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as delay } from "node:timers/promises";
import { waitFor, StopWaiting } from "@tessera/kube";
import { daemonPid, processAlive, readProgress, writeProgress, type Progress } from "./daemon-files.js";
import type { PlaygroundNetwork } from "./playground.js";
import { REPOSITORY_ROOT as ROOT } from "./repository-root.js";

const DAEMON = fileURLToPath(new URL("./daemon.ts", import.meta.url));

export interface UpResult {
  alreadyRunning: boolean;
  kubeconfig: string;
  /** The playground Prometheus's address. */
  prometheusURL?: string;
  /** The web console's address, when its app is built. */
  consoleURL?: string;
  seconds: number;
}

/**
 * Starts the playground supervisor in the background (or finds it running)
 * and waits until everything is ready, reporting each step. `network`
 * applies to a new state directory (see PlaygroundOptions.network).
 */
export async function playgroundUp(
  dir: string,
  onStep: (step: string) => void,
  timeoutMs = 10 * 60_000,
  network: Partial<PlaygroundNetwork> = {},
): Promise<UpResult> {
  mkdirSync(join(dir, "logs"), { recursive: true });
  const running = daemonPid(dir);
  const current = readProgress(dir);
  if (running && current?.ready && current.kubeconfig) {
    return {
      alreadyRunning: true,
      kubeconfig: current.kubeconfig,
      prometheusURL: current.prometheusURL,
      consoleURL: current.consoleURL,
      seconds: 0,
    };
  }
  if (!running) {
    writeProgress(dir, { step: "starting", startedAt: Date.now() });
    const log = openSync(join(dir, "logs", "daemon.log"), "a");
    const networkArgs = [
      ...(network.nodeName ? ["--node-name", network.nodeName] : []),
      ...(network.podCIDR ? ["--pod-cidr", network.podCIDR] : []),
      ...(network.serviceCIDR ? ["--service-cidr", network.serviceCIDR] : []),
    ];
    const child = spawn(process.execPath, ["--import", "tsx", DAEMON, "--dir", dir, ...networkArgs], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", log, log],
    });
    child.unref();
    closeSync(log);
  }
  let lastStep = "";
  const progress = await waitFor<Progress>(
    () => {
      const p = readProgress(dir);
      if (p && p.step !== lastStep) {
        lastStep = p.step;
        onStep(p.step);
      }
      if (p?.error)
        throw new StopWaiting(new Error(`playground failed: ${p.error} (logs in ${join(dir, "logs")})`));
      if (p?.ready) return p;
      if (!daemonPid(dir) && p?.step !== "starting") {
        throw new StopWaiting(
          new Error(`the playground supervisor exited; see ${join(dir, "logs", "daemon.log")}`),
        );
      }
      return undefined;
    },
    { description: "the playground to start", timeoutMs, intervalMs: 200 },
  );
  return {
    alreadyRunning: false,
    kubeconfig: progress.kubeconfig!,
    prometheusURL: progress.prometheusURL,
    consoleURL: progress.consoleURL,
    seconds: (progress.readyAt! - progress.startedAt) / 1000,
  };
}

/** Stops the supervisor (and with it every playground process); `purge` also deletes all data. */
export async function playgroundDown(dir: string, purge = false): Promise<boolean> {
  const pid = daemonPid(dir);
  if (pid) {
    process.kill(pid, "SIGTERM");
    // The supervisor removes its pid file just before it exits: stopped means the process is gone.
    await waitFor(() => !processAlive(pid), {
      description: "the playground to stop",
      timeoutMs: 120_000,
      intervalMs: 200,
    }).catch(async () => {
      process.kill(pid, "SIGKILL");
      await delay(500);
    });
  }
  if (purge) rmSync(dir, { recursive: true, force: true });
  return pid !== undefined;
}

export function playgroundState(dir: string): { running: boolean; progress?: Progress } {
  return { running: daemonPid(dir) !== undefined, progress: readProgress(dir) };
}
