import { setTimeout as delay } from "node:timers/promises";
import { within, type Ack, type ChaosBinding, type WriteSession } from "./harness.js";

/** One write of the chaos writer: when it was sent and how it ended. */
export interface WriteRecord {
  id: number;
  sentAt: number;
  /** Set when the engine acknowledged the write. */
  ackedAt?: number;
  ack?: Ack;
  /** Set when the write failed or was abandoned (its outcome is then unknown). */
  failedAt?: number;
  error?: string;
}

export interface ChaosWriterOptions {
  /** One write is started every intervalMs (later when the previous one took longer). */
  intervalMs?: number;
  /** Budget of one write, connecting included; the write is abandoned after it. */
  timeoutMs?: number;
}

/**
 * Writes one entry with a unique id every 50 ms through the writable service
 * and records, per id, when it was sent and when it was acknowledged (and by
 * which instance) or failed. A write that fails or times out discards the
 * connection; the next write opens a fresh one, so a broken or frozen
 * server never holds the writer.
 */
export class ChaosWriter {
  readonly records: WriteRecord[] = [];
  private running = false;
  private loop?: Promise<void>;
  private session?: WriteSession;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly binding: ChaosBinding,
    readonly stream: string,
    options: ChaosWriterOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 50;
    this.timeoutMs = options.timeoutMs ?? 1000;
  }

  start(): this {
    this.running = true;
    this.loop = this.run();
    return this;
  }

  /** Writes acknowledged so far. */
  acknowledged = 0;
  /** When the last write had ended, once stopped. */
  stoppedAt?: number;

  get lastError(): string {
    return this.records.findLast((r) => r.error)?.error ?? "";
  }

  private async run(): Promise<void> {
    for (let id = 1; this.running; id++) {
      const record: WriteRecord = { id, sentAt: Date.now() };
      this.records.push(record);
      try {
        record.ack = await this.write(record);
        record.ackedAt = Date.now();
        this.acknowledged++;
      } catch (error) {
        record.failedAt = Date.now();
        record.error = (error as Error).message;
        this.session?.discard();
        this.session = undefined;
      }
      const next = record.sentAt + this.intervalMs - Date.now();
      if (next > 0) await delay(next);
    }
    this.stoppedAt = Date.now();
    this.session?.discard();
    this.session = undefined;
  }

  private async write(record: WriteRecord): Promise<Ack> {
    const deadline = record.sentAt + this.timeoutMs;
    this.session ??= await within(
      deadline - Date.now(),
      "connect",
      this.binding.writer(this.timeoutMs),
      (late) => late.discard(),
    );
    const remaining = deadline - Date.now();
    return within(remaining, `write ${record.id}`, this.session.write(this.stream, record.id, remaining));
  }

  /** Stops writing; resolves with every write made. */
  async stop(): Promise<WriteRecord[]> {
    this.running = false;
    await this.loop;
    return this.records;
  }
}
