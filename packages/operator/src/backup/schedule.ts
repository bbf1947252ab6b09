import { CronExpressionParser } from "cron-parser";
import type { Backup } from "@tessera/api";

/** Whether a cron expression parses; the message says why not. */
export function cronError(expression: string): string | undefined {
  try {
    CronExpressionParser.parse(expression, { tz: "UTC" });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The first scheduled time strictly after `after`. */
export function nextRun(expression: string, after: Date): Date {
  return CronExpressionParser.parse(expression, { currentDate: after, tz: "UTC" }).next().toDate();
}

/**
 * The run due now, if any: the latest scheduled time after the last run and not after now. Runs
 * missed while the operator was away collapse into that one.
 */
export function dueRun(expression: string, lastRun: Date, now: Date): Date | undefined {
  let due: Date | undefined;
  let next = nextRun(expression, lastRun);
  while (next <= now) {
    due = next;
    next = nextRun(expression, next);
  }
  return due;
}

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function durationMs(text: string): number {
  const match = /^(\d+)([mhd])$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

export const DEFAULT_RETENTION_COUNT = 7;
/** Failed scheduled backups kept to show what went wrong. */
const FAILED_KEPT = 3;

const finished = (b: Backup) =>
  Date.parse(b.status?.completionTime ?? b.metadata.creationTimestamp ?? "") || 0;

/**
 * The scheduled backups retention removes: Completed ones beyond the newest `count` or older than
 * `maxAge`, and Failed ones beyond the newest few. The newest Completed backup is always kept:
 * every restore of the cluster depends on some backup.
 */
export function pastRetention(
  scheduled: Backup[],
  retention: { count?: number; maxAge?: string } | undefined,
  now: Date,
): Backup[] {
  const byNewest = (list: Backup[]) => [...list].sort((a, b) => finished(b) - finished(a));
  const completed = byNewest(scheduled.filter((b) => b.status?.phase === "Completed"));
  const failed = byNewest(scheduled.filter((b) => b.status?.phase === "Failed"));
  const count = retention?.count ?? DEFAULT_RETENTION_COUNT;
  const maxAge = retention?.maxAge ? durationMs(retention.maxAge) : undefined;
  const expired = completed.filter(
    (b, index) =>
      index > 0 && (index >= count || (maxAge !== undefined && now.getTime() - finished(b) > maxAge)),
  );
  return [...expired, ...failed.slice(FAILED_KEPT)];
}
