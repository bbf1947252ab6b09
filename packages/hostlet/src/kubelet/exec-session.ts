import { setTimeout as delay } from "node:timers/promises";
import { killExec, spawnInSandbox, type SandboxExecOptions } from "../runtime/exec.js";
import { findTerminal, resizeTerminal } from "../runtime/terminal.js";
import { errorStatus, exitStatus, type ExecStatus } from "./exec-status.js";

/** The client side of a remote command, whatever the wire protocol (WebSocket or SPDY). */
export interface ExecChannels {
  stdout?(data: Buffer): void;
  stderr?(data: Buffer): void;
  /** Called once with the final status; the transport sends it and closes. */
  done(status: ExecStatus): void;
}

export interface ExecHandle {
  stdin(data: Buffer): void;
  closeStdin(): void;
  /** The client's terminal changed size (for commands run with a terminal). */
  resize(size: { width: number; height: number }): void;
  /** The client went away: kill the command. */
  abort(): void;
}

/** Runs a command in a container and wires its streams to a transport. */
export function startExec(
  options: SandboxExecOptions,
  channels: ExecChannels,
  wantStdin: boolean,
): ExecHandle {
  const child = spawnInSandbox(options);
  let finished = false;
  const finish = (status: ExecStatus) => {
    if (finished) return;
    finished = true;
    channels.done(status);
  };
  child.stdout?.on("data", (data: Buffer) => channels.stdout?.(data));
  child.stderr?.on("data", (data: Buffer) => (channels.stderr ?? channels.stdout)?.(data));
  child.stdin?.on("error", () => undefined);
  if (!wantStdin) child.stdin?.end();
  child.once("error", (error) => finish(errorStatus(error.message)));
  child.once("close", (code, signal) => finish(exitStatus(options.command, code ?? (signal ? 137 : 1))));
  let wanted: { width: number; height: number } | undefined;
  let applying = false;
  // The terminal appears only once script(1) has started the command: retry briefly.
  const applySize = async () => {
    if (applying || child.pid === undefined) return;
    applying = true;
    for (let attempt = 0; attempt < 50 && wanted && !finished; attempt++) {
      const size = wanted;
      const device = findTerminal(child.pid);
      if (device && (await resizeTerminal(device, size))) {
        if (wanted === size) wanted = undefined;
        continue;
      }
      await delay(50);
    }
    applying = false;
  };
  return {
    resize: (size) => {
      if (!options.tty) return;
      wanted = size;
      void applySize();
    },
    stdin: (data) => {
      if (child.stdin?.writable) child.stdin.write(data);
    },
    closeStdin: () => child.stdin?.end(),
    abort: () => {
      finished = true;
      killExec(child);
    },
  };
}

/** Applies the terminal sizes in a resize message: JSON objects `{"Width":…,"Height":…}`, one per line. */
export function resizeFrom(text: string, session: ExecHandle): void {
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const size = JSON.parse(line) as { Width?: number; Height?: number };
      if (size.Width && size.Height) session.resize({ width: size.Width, height: size.Height });
    } catch {
      // A partial or malformed message: the next one carries the current size anyway.
    }
  }
}
