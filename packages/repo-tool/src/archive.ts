import { chmod, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { joinKey } from "./config.js";
import type { ObjectStore } from "./store.js";
import { putStream } from "./transfer.js";

/**
 * The log archiver: the engine's archive command drops a finished log file into `outbox/` and
 * waits; the archiver uploads it and answers with `done/<name>` (the engine may recycle the file)
 * or `failed/<name>` holding the error (the engine keeps the file and retries). So a file counts
 * as archived only once it is in the repository.
 */
export interface ArchiveStatus {
  lastArchived?: string;
  /** When the engine handed the last archived file over (not when its upload ended). */
  lastArchivedTime?: string;
  archivedCount: number;
  failedCount: number;
  lastFailedTime?: string;
  lastError?: string;
  /** Files waiting in the outbox. */
  pending: number;
}

export interface ArchiverOptions {
  store: ObjectStore;
  dir: string;
  prefix: string;
  encryptionKey?: string;
  pollMs?: number;
}

/** Written in the shared directory once the archiver has exited: the engine's command then gives up at once. */
export const STOPPED_MARKER = "stopped";

/** How a stopping archiver drains: it exits once nothing came for `idleMs`, or after `maxMs` anyway. */
export interface DrainOptions {
  idleMs: number;
  maxMs: number;
}

export class Archiver {
  readonly status: ArchiveStatus = { archivedCount: 0, failedCount: 0, pending: 0 };
  private stopped = false;
  private draining?: { since: number } & DrainOptions;
  private lastActivity = Date.now();

  constructor(private readonly options: ArchiverOptions) {}

  private path(box: "outbox" | "done" | "failed", name = ""): string {
    return join(this.options.dir, box, name);
  }

  async run(): Promise<void> {
    // The engine may run as another user: it writes the outbox and removes its answers.
    for (const box of ["outbox", "done", "failed"] as const) {
      await mkdir(this.path(box), { recursive: true });
      await chmod(this.path(box), 0o777);
    }
    await rm(join(this.options.dir, STOPPED_MARKER), { force: true });
    while (!this.stopped && !this.drained()) {
      const waiting = (await readdir(this.path("outbox"))).filter((name) => !name.endsWith(".tmp")).sort();
      this.status.pending = waiting.length;
      for (const name of waiting) await this.archive(name);
      if (waiting.length === 0) await sleep(this.options.pollMs ?? 200);
    }
    await writeFile(join(this.options.dir, STOPPED_MARKER), "the archiver has stopped\n");
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Stops once the engine has handed nothing over for a while. Every container of a stopping pod
   * is told to stop at the same moment, and an engine archives what it finished while it shuts
   * down: the archiver stays for that, then leaves the marker so later hand-overs fail at once
   * (the engine keeps those files and archives them when it runs again) instead of waiting.
   */
  drain(options: DrainOptions): void {
    this.draining ??= { since: Date.now(), ...options };
  }

  private drained(): boolean {
    const drain = this.draining;
    if (!drain) return false;
    const now = Date.now();
    return (
      now - drain.since >= drain.maxMs ||
      (this.status.pending === 0 && now - this.lastActivity >= drain.idleMs)
    );
  }

  private async archive(name: string): Promise<void> {
    // When the engine handed the file over: all it holds was written before then.
    const handedOver = (await stat(this.path("outbox", name)).catch(() => undefined))?.mtime ?? new Date();
    // The status, then the outbox, are settled before the answer: whoever sees the answer sees them.
    let answer: { box: "done" | "failed"; text: string };
    try {
      await putStream(this.options.store, joinKey(this.options.prefix, name), this.path("outbox", name), {
        encryptionKey: this.options.encryptionKey,
      });
      this.status.lastArchived = name;
      this.status.lastArchivedTime = handedOver.toISOString();
      this.status.archivedCount++;
      answer = { box: "done", text: "" };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.status.failedCount++;
      this.status.lastFailedTime = new Date().toISOString();
      this.status.lastError = message;
      console.error(`archiving ${name} failed: ${message}`);
      answer = { box: "failed", text: message };
    }
    await rm(this.path("outbox", name), { force: true });
    await writeFile(this.path(answer.box, name), answer.text);
    this.status.pending = Math.max(0, this.status.pending - 1);
    this.lastActivity = Date.now();
  }
}

/** Serves the archiver's status as JSON, for the operator's conditions and metrics. */
export function serveStatus(archiver: Archiver, host: string, port: number): Promise<Server> {
  const server = createServer((_request, response) => {
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify(archiver.status));
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}
