import { pino, type Logger as PinoLogger } from "pino";

export type Logger = PinoLogger;

/**
 * Structured JSON logs on stderr. Level from TESSERA_LOG_LEVEL (default info).
 * Anything that may carry a credential is redacted by key name.
 */
export function createLogger(name: string, level = process.env.TESSERA_LOG_LEVEL ?? "info"): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ["password", "*.password", "token", "*.token", "env.*", "stringData", "data"],
        censor: "[redacted]",
      },
    },
    pino.destination(2),
  );
}
