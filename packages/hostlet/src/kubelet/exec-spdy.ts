import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { SandboxExecOptions } from "../runtime/exec.js";
import { resizeFrom, startExec, type ExecHandle } from "./exec-session.js";
import { errorStatus, type ExecStatus } from "./exec-status.js";
import { SpdyServerConnection, type SpdyStream } from "./spdy.js";

const PROTOCOL = "v4.channel.k8s.io";

/**
 * Remote commands over SPDY/3.1, as kubectl does them: after the upgrade
 * the client opens one stream per channel (header `streamType`: error,
 * stdin, stdout, stderr, resize), and the command starts once all the
 * expected streams are there.
 */
export function offeredSpdyProtocols(req: IncomingMessage): string[] {
  const raw = req.headersDistinct["x-stream-protocol-version"] ?? [];
  return raw.flatMap((value) => value.split(",").map((v) => v.trim()));
}

export function handleSpdyExec(
  req: IncomingMessage,
  socket: Duplex,
  target: SandboxExecOptions | string,
  want: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean },
): void {
  if (!offeredSpdyProtocols(req).includes(PROTOCOL)) {
    socket.end(
      "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nthis node speaks only v4.channel.k8s.io\n",
    );
    return;
  }
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
      `X-Stream-Protocol-Version: ${PROTOCOL}\r\n\r\n`,
  );
  const connection = new SpdyServerConnection(socket);
  const streams = new Map<string, SpdyStream>();
  const expected = [
    "error",
    ...(want.stdin ? ["stdin"] : []),
    ...(want.stdout ? ["stdout"] : []),
    ...(want.stderr && !want.tty ? ["stderr"] : []),
  ];
  let session: ExecHandle | undefined;
  const finish = (status: ExecStatus) => {
    for (const name of ["stdout", "stderr"]) {
      const stream = streams.get(name);
      if (stream) connection.send(stream.id, Buffer.alloc(0), true);
    }
    const error = streams.get("error");
    if (error) connection.send(error.id, Buffer.from(JSON.stringify(status)), true);
    connection.close();
  };
  const timeout = setTimeout(() => finish(errorStatus("timed out waiting for the client's streams")), 30_000);
  connection.on("error", () => session?.abort());
  connection.on("close", () => {
    clearTimeout(timeout);
    session?.abort();
  });
  connection.on("stream", (stream: SpdyStream) => {
    const type = stream.headers["streamtype"] ?? "";
    streams.set(type, stream);
    // The resize stream may come after the command started.
    if (type === "resize")
      stream.on("data", (data: Buffer) => session && resizeFrom(data.toString("utf8"), session));
    if (session || !expected.every((name) => streams.has(name))) return;
    clearTimeout(timeout);
    if (typeof target === "string") return finish(errorStatus(target));
    const stdout = streams.get("stdout");
    const stderr = streams.get("stderr");
    session = startExec(
      target,
      {
        stdout: stdout ? (data) => connection.send(stdout.id, data) : undefined,
        stderr: stderr ? (data) => connection.send(stderr.id, data) : undefined,
        done: finish,
      },
      want.stdin,
    );
    const stdin = streams.get("stdin");
    const running = session;
    stdin?.on("data", (data: Buffer) => running.stdin(data));
    stdin?.on("end", () => running.closeStdin());
  });
}
