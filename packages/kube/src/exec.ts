import { Writable, PassThrough } from "node:stream";
import { Exec, type V1Status } from "@kubernetes/client-node";
import type { KubeClient } from "./client.js";

export interface ExecOptions {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  /**
   * Bytes written to the command's stdin. Stdin stays open: the v4 exec
   * protocol of older kubelets cannot half-close it, so the command must
   * read a known length rather than wait for end-of-file.
   */
  stdin?: string | Buffer;
  timeoutMs: number;
  /** Output beyond this many bytes per stream is dropped (the tail is kept). */
  maxOutputBytes?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class ExecTimeoutError extends Error {
  constructor(
    readonly options: ExecOptions,
    readonly partial: ExecResult,
  ) {
    super(
      `command in ${options.namespace}/${options.pod}/${options.container} timed out after ${options.timeoutMs}ms`,
    );
    this.name = "ExecTimeoutError";
  }
}

/** Keeps the last `limit` bytes written to it. */
class TailBuffer extends Writable {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
    callback();
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString("utf8");
  }
}

function exitCodeOf(status: V1Status): number {
  if (status.status === "Success") return 0;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  const code = Number(cause?.message);
  // A failure without an exit code (e.g. the container is gone) is reported as 126, "cannot execute".
  return Number.isInteger(code) ? code : 126;
}

/**
 * Runs a command in a container through the `pods/exec` API (so it works the
 * same against any kubelet) and collects its exit code and output.
 */
export async function execInPod(client: KubeClient, options: ExecOptions): Promise<ExecResult> {
  const limit = options.maxOutputBytes ?? 1024 * 1024;
  const stdout = new TailBuffer(limit);
  const stderr = new TailBuffer(limit);
  const stdin = options.stdin === undefined ? null : new PassThrough();
  stdin?.write(options.stdin);
  const exec = new Exec(client.kubeConfig);
  let settle!: (result: ExecResult) => void;
  let fail!: (error: Error) => void;
  const done = new Promise<ExecResult>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  let status: V1Status | undefined;
  const socket = await exec.exec(
    options.namespace,
    options.pod,
    options.container,
    options.command,
    stdout,
    stderr,
    stdin,
    false,
    (s) => {
      status = s;
    },
  );
  const timer = setTimeout(() => {
    socket.close();
    fail(new ExecTimeoutError(options, { exitCode: -1, stdout: stdout.text(), stderr: stderr.text() }));
  }, options.timeoutMs);
  socket.on("close", () => {
    clearTimeout(timer);
    stdin?.destroy();
    if (!status) {
      fail(new Error(`exec in ${options.namespace}/${options.pod}: connection closed without a status`));
      return;
    }
    if (status.status !== "Success" && !status.details?.causes?.some((c) => c.reason === "ExitCode")) {
      fail(
        new Error(`exec in ${options.namespace}/${options.pod} failed: ${status.message ?? status.reason}`),
      );
      return;
    }
    settle({ exitCode: exitCodeOf(status), stdout: stdout.text(), stderr: stderr.text() });
  });
  socket.on("error", (error: Error) => {
    clearTimeout(timer);
    stdin?.destroy();
    fail(error);
  });
  return done;
}
