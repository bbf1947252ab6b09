import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Duplex } from "node:stream";
import { errorMessage, type Logger } from "@tessera/kube";
import type { SandboxExecOptions } from "../runtime/exec.js";
import { WebSocketExec } from "./exec-websocket.js";
import { handleSpdyExec } from "./exec-spdy.js";
import { handleSpdyPortForward } from "./portforward-spdy.js";
import { streamLog } from "./logs.js";

export interface KubeletBackend {
  /** The pod's exec target, or an error message (unknown pod, container not running, isolated node). */
  execTarget(
    namespace: string,
    pod: string,
    container: string,
    command: string[],
    tty: boolean,
  ): SandboxExecOptions | string;
  logFile(
    namespace: string,
    pod: string,
    container: string | undefined,
    previous: boolean,
  ): { file: string; running: () => boolean } | string;
  /** Where `kubectl port-forward` connects, or an error message. */
  portForwardTarget(namespace: string, pod: string): { podIP: string } | string;
  fault(action: string, namespace: string, pod: string, params: URLSearchParams): Promise<string>;
}

export interface KubeletServerOptions {
  port: number;
  certPem: string;
  keyPem: string;
  clientCaPem: string;
  backend: KubeletBackend;
  logger: Logger;
}

/** Only the apiserver's kubelet client and cluster admins (group system:masters) may use the kubelet API. */
function authorized(req: IncomingMessage): boolean {
  const cert = (req.socket as TLSSocket).getPeerCertificate?.();
  if (!cert || !(req.socket as TLSSocket).authorized) return false;
  const org = cert.subject?.O;
  const groups = Array.isArray(org) ? org : org ? [org] : [];
  return groups.includes("system:masters");
}

function flag(params: URLSearchParams, name: string): boolean {
  const value = params.get(name);
  return value === "1" || value === "true";
}

/**
 * The kubelet API on 127.0.0.1 over mutual TLS: container logs, exec
 * (WebSocket and SPDY upgrades passed through by the apiserver), and the
 * fault-injection endpoints for tests.
 */
export class KubeletServer {
  private readonly server: Server;
  private readonly websocket = new WebSocketExec();
  private readonly sockets = new Set<Duplex>();

  constructor(private readonly options: KubeletServerOptions) {
    this.server = createServer(
      {
        cert: options.certPem,
        key: options.keyPem,
        ca: options.clientCaPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => void this.request(req, res),
    );
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    this.server.on("connection", (socket: Duplex) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    this.server.on("secureConnection", (socket: Duplex) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, "127.0.0.1", () => resolve());
    });
  }

  async close(): Promise<void> {
    this.websocket.close();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!authorized(req))
        return this.reply(
          res,
          403,
          "forbidden: the kubelet API needs a client certificate of group system:masters",
        );
      const url = new URL(req.url ?? "/", "https://kubelet");
      const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
      if (parts[0] === "healthz") return this.reply(res, 200, "ok");
      if (parts[0] === "containerLogs" && parts.length >= 3) {
        const [, namespace, pod, container] = parts as [string, string, string, string | undefined];
        const found = this.options.backend.logFile(
          namespace,
          pod,
          container,
          flag(url.searchParams, "previous"),
        );
        if (typeof found === "string") return this.reply(res, 404, found);
        const tail = url.searchParams.get("tailLines");
        const limit = url.searchParams.get("limitBytes");
        return await streamLog(
          {
            file: found.file,
            follow: flag(url.searchParams, "follow"),
            tailLines: tail !== null ? Number(tail) : undefined,
            limitBytes: limit !== null ? Number(limit) : undefined,
            stillWriting: found.running,
          },
          res,
        );
      }
      if (parts[0] === "faults" && parts.length === 4 && req.method === "POST") {
        const [, namespace, pod, action] = parts as [string, string, string, string];
        return this.reply(
          res,
          200,
          await this.options.backend.fault(action, namespace, pod, url.searchParams),
        );
      }
      if (parts[0] === "exec")
        return this.reply(res, 400, "exec needs a connection upgrade (WebSocket or SPDY/3.1)");
      this.reply(res, 404, `no handler for ${url.pathname}`);
    } catch (error) {
      this.options.logger.warn({ err: errorMessage(error), url: req.url }, "kubelet API request failed");
      if (!res.headersSent) this.reply(res, 500, errorMessage(error));
      else res.end();
    }
  }

  private reply(res: ServerResponse, code: number, text: string): void {
    res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** Connection upgrades: exec (WebSocket or SPDY) and port-forward (SPDY). */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    if (!authorized(req)) {
      socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    const url = new URL(req.url ?? "/", "https://kubelet");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (parts[0] === "portForward" && parts.length >= 3) {
      const target = this.options.backend.portForwardTarget(parts[1]!, parts[2]!);
      return handleSpdyPortForward(req, socket, target);
    }
    if (parts[0] !== "exec" || parts.length < 4) {
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      return;
    }
    const [, namespace, pod] = parts as [string, string, string];
    const container = parts[parts.length - 1]!;
    const params = url.searchParams;
    const command = params.getAll("command");
    const want = {
      stdin: flag(params, "input") || flag(params, "stdin"),
      stdout: flag(params, "output") || flag(params, "stdout"),
      stderr: flag(params, "error") || flag(params, "stderr"),
      tty: flag(params, "tty"),
    };
    const target = this.options.backend.execTarget(namespace, pod, container, command, want.tty);
    const upgradeTo = (req.headers.upgrade ?? "").toLowerCase();
    if (upgradeTo === "websocket") this.websocket.handle(req, socket, head, target, want);
    else if (upgradeTo.startsWith("spdy/3.1")) handleSpdyExec(req, socket, target, want);
    else socket.end("HTTP/1.1 400 Bad Request\r\n\r\nunsupported upgrade\n");
  }
}
