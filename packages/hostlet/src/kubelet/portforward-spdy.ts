import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { offeredSpdyProtocols } from "./exec-spdy.js";
import { SpdyServerConnection, type SpdyStream } from "./spdy.js";

const PROTOCOL = "portforward.k8s.io";

/**
 * `kubectl port-forward` over SPDY/3.1: for every forwarded connection the
 * client opens an error stream and a data stream carrying the same
 * `requestID` and `port`; the data stream is spliced to the pod's IP and
 * port (pods have no network namespace of their own to dial into).
 */
export function handleSpdyPortForward(
  req: IncomingMessage,
  socket: Duplex,
  target: string | { podIP: string },
): void {
  if (typeof target === "string" || !offeredSpdyProtocols(req).includes(PROTOCOL)) {
    const reason = typeof target === "string" ? target : `this node speaks only ${PROTOCOL}`;
    socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n\r\n${reason}\n`);
    return;
  }
  socket.write(
    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
      `X-Stream-Protocol-Version: ${PROTOCOL}\r\n\r\n`,
  );
  const connection = new SpdyServerConnection(socket);
  const pending = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  const upstreams = new Set<Socket>();
  connection.on("error", () => socket.destroy());
  connection.on("close", () => {
    for (const upstream of upstreams) upstream.destroy();
  });
  connection.on("stream", (stream: SpdyStream) => {
    const id = stream.headers["requestid"] ?? "";
    const pair = pending.get(id) ?? {};
    if (stream.headers["streamtype"] === "error") pair.error = stream;
    else pair.data = stream;
    pending.set(id, pair);
    if (!pair.error || !pair.data) return;
    pending.delete(id);
    const port = Number(stream.headers["port"]);
    const { error, data } = pair;
    const upstream = connect({ host: target.podIP, port, allowHalfOpen: true });
    upstreams.add(upstream);
    upstream.on("close", () => upstreams.delete(upstream));
    data.on("data", (chunk: Buffer) => upstream.write(chunk));
    data.on("end", () => upstream.end());
    upstream.on("data", (chunk: Buffer) => connection.send(data.id, chunk));
    upstream.on("end", () => {
      connection.send(data.id, Buffer.alloc(0), true);
      connection.send(error.id, Buffer.alloc(0), true);
    });
    upstream.on("error", (failure) => {
      const message = `error forwarding port ${port} to pod ${target.podIP}: ${failure.message}`;
      connection.send(error.id, Buffer.from(message), true);
      connection.send(data.id, Buffer.alloc(0), true);
    });
  });
}
