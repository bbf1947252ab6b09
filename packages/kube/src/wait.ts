import { setTimeout as delay } from "node:timers/promises";

export interface WaitOptions {
  /** What is being waited for, used in the timeout error. */
  description: string;
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
}

export class WaitTimeoutError extends Error {
  constructor(description: string, timeoutMs: number, lastError?: unknown) {
    const reason = lastError instanceof Error ? `: last error: ${lastError.message}` : "";
    super(`timed out after ${timeoutMs}ms waiting for ${description}${reason}`);
    this.name = "WaitTimeoutError";
  }
}

/**
 * Polls `probe` until it returns a value other than undefined/false, or the
 * deadline passes. Errors thrown by the probe count as "not yet" but the last
 * one is reported on timeout; a probe can abort the wait early by throwing a
 * `StopWaiting` error.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error.cause ?? error;
      lastError = error;
    }
    if (Date.now() >= deadline) throw new WaitTimeoutError(options.description, options.timeoutMs, lastError);
    await delay(Math.min(interval, Math.max(0, deadline - Date.now())), undefined, {
      signal: options.signal,
    });
  }
}

/** Thrown from a `waitFor` probe to stop waiting with `cause` as the error. */
export class StopWaiting extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause });
    this.name = "StopWaiting";
  }
}
