import Table from "cli-table3";
import { stringify } from "yaml";
import type { OutputFormat } from "./options.js";
import type { Style } from "./style.js";

/** A borderless, left-aligned table in the style of `kubectl get`. */
export function table(style: Style, head: string[], rows: string[][]): string {
  const t = new Table({
    head: head.map((h) => style.bold(h.toUpperCase())),
    chars: {
      top: "",
      "top-mid": "",
      "top-left": "",
      "top-right": "",
      bottom: "",
      "bottom-mid": "",
      "bottom-left": "",
      "bottom-right": "",
      left: "",
      "left-mid": "",
      mid: "",
      "mid-mid": "",
      right: "",
      "right-mid": "",
      middle: "   ",
    },
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0 },
  });
  t.push(...rows);
  return t
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}

/** `key: value` lines with the values aligned. */
export function fields(style: Style, entries: [string, string][]): string {
  const width = Math.max(...entries.map(([k]) => k.length)) + 2;
  return entries.map(([k, v]) => `${style.bold(`${k}:`.padEnd(width))}${v}`).join("\n");
}

/** Machine-readable output; tables are rendered by each command. */
export function serialize(value: unknown, format: Exclude<OutputFormat, "table">): string {
  return format === "json" ? JSON.stringify(value, null, 2) : stringify(value).trimEnd();
}

/** An object as `kubectl get -o yaml` shows it: without the server's managedFields bookkeeping. */
export function withoutManagedFields<T extends { metadata?: object }>(object: T): T {
  if (!object.metadata || !("managedFields" in object.metadata)) return object;
  const { managedFields: _managedFields, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** How long ago, the way kubectl shows it: 45s, 12m, 3h, 5d. */
export function age(timestamp: string | Date | undefined, now = Date.now()): string {
  if (!timestamp) return "-";
  const seconds = Math.max(0, Math.floor((now - new Date(timestamp).getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 2 * 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 2 * 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

/** Seconds with one decimal below a minute, then minutes and seconds. */
export function duration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
}

/** A time (a Date from the client, or a string) as RFC 3339 in UTC, without fractions of a second when there are none. */
export function timestamp(value: Date | string | number | undefined): string | undefined {
  return value === undefined ? undefined : new Date(value).toISOString().replace(/\.000Z$/, "Z");
}

const BYTE_UNITS = ["KiB", "MiB", "GiB", "TiB"];

/** A byte count for people: `512 B`, `3.4 MiB`, `12 GiB` (binary units, three significant digits). */
export function bytes(count: number): string {
  if (count < 1024) return `${count} B`;
  let value = count;
  let unit = "";
  for (const next of BYTE_UNITS) {
    value /= 1024;
    unit = next;
    if (value < 1024) break;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${unit}`;
}

export function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}
