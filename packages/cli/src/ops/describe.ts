import type { CoreV1Event } from "@kubernetes/client-node";
import type { OpsRequest } from "@tessera/api";
import type { OutputFormat } from "../options.js";
import { age, fields, print, serialize, table, withoutManagedFields } from "../output.js";
import type { Session } from "../session.js";
import { findOps, opsHealth } from "./common.js";

export interface DescribeOpsOptions {
  namespace?: string;
  output: OutputFormat;
}

const RECENT_EVENTS = 15;

/** An operation: what it does, where it stands, each step and instance, and its recent Events. */
export async function describeOps(
  session: Session,
  name: string,
  options: DescribeOpsOptions,
): Promise<void> {
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const op = await findOps(conn, namespace, name);
  const events = (
    await conn.client.list<CoreV1Event>("v1", "Event", {
      namespace,
      fieldSelector: `involvedObject.name=${name},involvedObject.kind=OpsRequest`,
    })
  ).items
    .sort((a, b) => String(a.lastTimestamp).localeCompare(String(b.lastTimestamp)))
    .slice(-RECENT_EVENTS);
  if (options.output !== "table") {
    print(serialize({ ...withoutManagedFields(op), events: events.map(eventView) }, options.output));
    return;
  }
  print(render(session, op, events));
}

function eventView(event: CoreV1Event) {
  return {
    type: event.type,
    reason: event.reason,
    message: event.message,
    count: event.count,
    last: event.lastTimestamp,
  };
}

function render(session: Session, op: OpsRequest, events: CoreV1Event[]): string {
  const style = session.style;
  const status = op.status ?? {};
  const phase = status.phase ?? "Pending";
  const sections = [
    fields(style, [
      ["Name", op.metadata.name!],
      ["Namespace", op.metadata.namespace!],
      ["Type", op.spec.type],
      ["Cluster", op.spec.clusterName],
      [
        "Status",
        `${style.state(phase, opsHealth(status.phase))}${status.reason ? ` (${status.reason})` : ""}`,
      ],
      ["Progress", status.progress ?? "-"],
      ["Message", status.message ?? "-"],
      ["Created", `${age(op.metadata.creationTimestamp)} ago`],
      ["Started", status.startTimestamp ? `${age(status.startTimestamp)} ago` : "-"],
      ["Completed", status.completionTimestamp ? `${age(status.completionTimestamp)} ago` : "-"],
      ["Timeout", op.spec.timeoutSeconds ? `${op.spec.timeoutSeconds}s` : "none"],
      ["Cancel", op.spec.cancel ? "requested" : "no"],
    ]),
  ];
  if (status.steps?.length) {
    sections.push(
      table(
        style,
        ["step", "status", "started", "message"],
        status.steps.map((s) => [
          s.name,
          s.phase,
          s.startTime ? `${age(s.startTime)} ago` : "-",
          s.message ?? "",
        ]),
      ),
    );
  }
  if (status.instances?.length) {
    sections.push(
      table(
        style,
        ["instance", "component", "action", "status", "since", "message"],
        status.instances.map((i) => [
          i.name,
          i.component,
          i.action,
          i.phase,
          `${age(i.since)} ago`,
          i.message ?? "",
        ]),
      ),
    );
  }
  if (events.length) {
    sections.push(
      table(
        style,
        ["type", "reason", "age", "message"],
        events.map((e) => [e.type ?? "", e.reason ?? "", age(e.lastTimestamp), e.message ?? ""]),
      ),
    );
  }
  return sections.join("\n\n");
}
