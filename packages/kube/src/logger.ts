import { pino, type DestinationStream, type Logger as PinoLogger } from "pino";

export type Logger = PinoLogger;

/**
 * Structured JSON logs on stderr. Level from TESSERA_LOG_LEVEL (default info).
 * Each line carries an ISO 8601 `time` and the level by name (`"level":"info"`),
 * which log collectors and people read without pino's numeric table.
 * Anything that may carry a credential is redacted by key name.
 */
export function createLogger(
  name: string,
  level = process.env.TESSERA_LOG_LEVEL ?? "info",
  destination: DestinationStream = pino.destination(2),
): Logger {
  return pino(
    {
      name,
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ["password", "*.password", "token", "*.token", "env.*", "stringData", "data"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
