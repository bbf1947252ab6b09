export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Fraction of random spread added to each delay, so retries of many callers do not line up. */
  jitter?: number;
}

/** Exponential back-off: base, 2×base, 4×base … capped at max. */
export class Backoff {
  private attempts = 0;

  constructor(private readonly options: BackoffOptions) {}

  next(): number {
    const raw = Math.min(this.options.maxMs, this.options.baseMs * 2 ** this.attempts);
    this.attempts += 1;
    const jitter = this.options.jitter ?? 0.2;
    return Math.round(raw * (1 + Math.random() * jitter));
  }

  reset(): void {
    this.attempts = 0;
  }

  get failures(): number {
    return this.attempts;
  }
}
