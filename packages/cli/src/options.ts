import { InvalidArgumentError, Option } from "commander";

// Options shared by several commands. This module stays free of heavy
// imports: it is loaded for every invocation, including help and completion.

const OUTPUT_FORMATS = ["table", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputOption(): Option {
  return new Option("-o, --output <format>", "output format").choices(OUTPUT_FORMATS).default("table");
}

export function namespaceOption(): Option {
  return new Option(
    "-n, --namespace <namespace>",
    "namespace (default: the kubeconfig context's, else default)",
  );
}

export function timeoutOption(defaultText: string, what: string): Option {
  return new Option("--timeout <duration>", `how long to wait for ${what} (e.g. 90s, 10m)`)
    .argParser(parseDuration)
    .default(parseDuration(defaultText), defaultText);
}

/** "90s", "10m", "1h30m" or plain seconds, in milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$/.exec(text.trim());
  if (!text.trim() || !match)
    throw new InvalidArgumentError("expected a duration such as 90s, 10m or 1h30m.");
  const [, hours, minutes, seconds] = match;
  return ((Number(hours ?? 0) * 60 + Number(minutes ?? 0)) * 60 + Number(seconds ?? 0)) * 1000;
}

/** A whole number of at least zero. */
export function parseCount(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new InvalidArgumentError("expected a whole number.");
  return Number(text);
}

/** Collects a repeatable option's values. */
export const repeatable = (value: string, previous: string[] = []) => [...previous, value];
