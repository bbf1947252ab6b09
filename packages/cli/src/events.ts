import type { CoreV1Event } from "@kubernetes/client-node";
import { age, table, timestamp } from "./output.js";
import type { Style } from "./style.js";

/** How many Events a description shows: the most recent. */
const RECENT_EVENTS = 15;

export interface EventView {
  object: string;
  type: string;
  reason: string;
  message: string;
  count: number;
  last?: string;
}

/** The most recent Events about the objects `involves` picks, oldest first. */
export function recentEvents(
  events: CoreV1Event[],
  involves: (object: CoreV1Event["involvedObject"]) => boolean,
): EventView[] {
  return events
    .filter((e) => involves(e.involvedObject))
    .map((e): EventView => ({
      object: `${e.involvedObject.kind}/${e.involvedObject.name}`,
      type: e.type ?? "Normal",
      reason: e.reason ?? "",
      message: e.message ?? "",
      count: e.count ?? 1,
      last: timestamp(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp),
    }))
    .sort((a, b) => (a.last ?? "").localeCompare(b.last ?? ""))
    .slice(-RECENT_EVENTS);
}

/** The `Events` section of a description. */
export function renderEvents(style: Style, events: EventView[]): string {
  return `${style.bold("Events")}\n${
    events.length
      ? table(
          style,
          ["age", "type", "reason", "object", "message"],
          events.map((e) => [
            age(e.last),
            e.type === "Warning" ? style.yellow(e.type) : e.type,
            e.reason,
            e.object,
            e.count > 1 ? `${e.message} (×${e.count})` : e.message,
          ]),
        )
      : style.dim("none")
  }`;
}
