import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { V1Container, V1Probe } from "@kubernetes/client-node";

export type ProbeKind = "startup" | "liveness" | "readiness";

export interface ProbeResult {
  success: boolean;
  message: string;
}

export interface ProbeTarget {
  podIP: string;
  container: V1Container;
  /** Runs a command in the container and returns its exit code. */
  exec(command: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }>;
}

function resolvePort(port: number | string, container: V1Container): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const found = container.ports?.find((p) => p.name === port);
  if (!found) throw new Error(`no container port named ${port}`);
  return found.containerPort;
}

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve({ success: true, message: "" });
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve({ success: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.once("error", (error) =>
      resolve({ success: false, message: `dial tcp ${host}:${port}: ${error.message}` }),
    );
  });
}

function httpCheck(probe: NonNullable<V1Probe["httpGet"]>, host: string, port: number, timeoutMs: number) {
  return new Promise<ProbeResult>((resolve) => {
    const https = probe.scheme === "HTTPS";
    const headers: Record<string, string> = { "User-Agent": "kube-probe/1.20" };
    for (const header of probe.httpHeaders ?? []) headers[header.name] = header.value;
    const req = (https ? httpsRequest : httpRequest)(
      {
        host,
        port,
        path: probe.path ?? "/",
        method: "GET",
        headers,
        timeout: timeoutMs,
        rejectUnauthorized: false,
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve({
          success: code >= 200 && code < 400,
          message: `HTTP probe failed with statuscode: ${code}`,
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (error) =>
      resolve({ success: false, message: `Get ${probe.path ?? "/"}: ${error.message}` }),
    );
    req.end();
  });
}

/** Runs one probe once, as the kubelet's prober does. */
export async function runProbe(probe: V1Probe, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  try {
    if (probe.exec) {
      const result = await target.exec(probe.exec.command ?? [], timeoutMs);
      return { success: result.exitCode === 0, message: result.output.trim().slice(-512) };
    }
    if (probe.tcpSocket) {
      const host = probe.tcpSocket.host || target.podIP;
      return await tcpCheck(host, resolvePort(probe.tcpSocket.port, target.container), timeoutMs);
    }
    if (probe.httpGet) {
      const host = probe.httpGet.host || target.podIP;
      return await httpCheck(
        probe.httpGet,
        host,
        resolvePort(probe.httpGet.port, target.container),
        timeoutMs,
      );
    }
    return { success: false, message: "probe has no handler" };
  } catch (error) {
    return { success: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Runs a probe periodically with the kubelet's thresholds and reports
 * transitions: `onResult(true)` after successThreshold consecutive
 * successes, `onResult(false)` after failureThreshold failures.
 */
export class ProbeLoop {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private successes = 0;
  private failures = 0;
  private state?: boolean;

  constructor(
    readonly kind: ProbeKind,
    private readonly probe: V1Probe,
    private readonly target: ProbeTarget,
    private readonly onResult: (healthy: boolean, message: string) => void,
  ) {}

  start(): void {
    this.schedule((this.probe.initialDelaySeconds ?? 0) * 1000);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    const startedAt = Date.now();
    const result = await runProbe(this.probe, this.target);
    if (this.stopped) return;
    if (result.success) {
      this.failures = 0;
      this.successes += 1;
      const threshold = this.kind === "readiness" ? (this.probe.successThreshold ?? 1) : 1;
      if (this.successes >= threshold && this.state !== true) {
        this.state = true;
        this.onResult(true, "");
      }
    } else {
      this.successes = 0;
      this.failures += 1;
      if (this.failures >= (this.probe.failureThreshold ?? 3) && this.state !== false) {
        this.state = this.kind === "readiness" ? false : undefined;
        if (this.kind !== "readiness") this.failures = 0;
        this.onResult(false, result.message);
      }
    }
    if (this.stopped) return;
    // Like the kubelet's ticker, the period runs from one probe's start to the next, not from its end.
    this.schedule(Math.max(0, (this.probe.periodSeconds ?? 10) * 1000 - (Date.now() - startedAt)));
  }
}
