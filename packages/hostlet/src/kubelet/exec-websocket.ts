import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { SandboxExecOptions } from "../runtime/exec.js";
import { resizeFrom, startExec } from "./exec-session.js";
import { errorStatus, type ExecStatus } from "./exec-status.js";

const PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

/**
 * Remote commands over WebSocket, the channel protocol client libraries
 * use: each binary message starts with its channel (0 stdin, 1 stdout,
 * 2 stderr, 3 status, 4 resize); v5 adds 255 to half-close a channel.
 */
export class WebSocketExec {
  private readonly server = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });

  handle(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: SandboxExecOptions | string,
    want: { stdin: boolean; stdout: boolean; stderr: boolean },
  ): void {
    this.server.handleUpgrade(req, socket, head, (ws) => this.run(ws, target, want));
  }

  private run(
    ws: WebSocket,
    target: SandboxExecOptions | string,
    want: { stdin: boolean; stdout: boolean; stderr: boolean },
  ) {
    const frame = (channel: number, data: Buffer) => Buffer.concat([Buffer.from([channel]), data]);
    const finish = (status: ExecStatus) => {
      if (ws.readyState === ws.OPEN) ws.send(frame(ERROR, Buffer.from(JSON.stringify(status))));
      ws.close(1000);
    };
    if (typeof target === "string") return finish(errorStatus(target));
    const session = startExec(
      target,
      {
        stdout: want.stdout ? (data) => ws.send(frame(STDOUT, data)) : undefined,
        stderr: want.stderr ? (data) => ws.send(frame(STDERR, data)) : undefined,
        done: finish,
      },
      want.stdin,
    );
    ws.on("message", (message: Buffer, isBinary: boolean) => {
      const data = isBinary ? message : Buffer.from(message.toString(), "utf8");
      if (data.length === 0) return;
      if (data[0] === STDIN) session.stdin(data.subarray(1));
      else if (data[0] === RESIZE) resizeFrom(data.subarray(1).toString("utf8"), session);
      else if (data[0] === CLOSE && data[1] === STDIN) session.closeStdin();
    });
    ws.on("close", () => session.abort());
    ws.on("error", () => session.abort());
  }

  close(): void {
    for (const client of this.server.clients) client.terminate();
    this.server.close();
  }
}
