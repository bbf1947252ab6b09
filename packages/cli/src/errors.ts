/** Exit codes: 0 success, 1 a failure, 2 bad usage (unknown command, bad flag or argument value). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * Input the CLI rejects before changing anything; the message names the
 * flag or argument and what is allowed. Exits with EXIT_USAGE.
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Any error message as one line: errors are read in terminals and grepped in logs. */
export function oneLine(message: string): string {
  return message
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .join(" ");
}

/** Lists choices the way error messages show them: "a", "b", "c". */
export function quoteList(values: readonly string[]): string {
  return values.length ? values.map((v) => `"${v}"`).join(", ") : "(none)";
}
