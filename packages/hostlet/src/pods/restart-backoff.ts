export interface RestartBackoffOptions {
  /** Delay before the second restart; doubles per further crash. */
  baseMs: number;
  maxMs: number;
  /** A container that ran at least this long has its back-off forgotten. */
  resetAfterMs: number;
}

export const KUBELET_BACKOFF: RestartBackoffOptions = {
  baseMs: 10_000,
  maxMs: 300_000,
  resetAfterMs: 600_000,
};

/**
 * The kubelet's CrashLoopBackOff: the first restart is immediate, later
 * ones wait base, 2×base, 4×base … up to max; a container that ran long
 * enough starts over.
 */
export class RestartBackoff {
  private crashes = 0;

  constructor(private readonly options: RestartBackoffOptions) {}

  /** Records a container exit after `ranMs` and returns how long to wait before restarting it. */
  next(ranMs: number): number {
    if (ranMs >= this.options.resetAfterMs) this.crashes = 0;
    this.crashes += 1;
    if (this.crashes === 1) return 0;
    return Math.min(this.options.maxMs, this.options.baseMs * 2 ** (this.crashes - 2));
  }
}
