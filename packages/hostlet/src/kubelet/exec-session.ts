import { killExec, spawnInSandbox, type SandboxExecOptions } from "../runtime/exec.js";
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
  return {
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
