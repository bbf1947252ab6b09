import { API_VERSION, isTerminalOpsPhase, type OpsPhase, type OpsRequest } from "@tessera/api";
import { ApiError, StopWaiting, WaitTimeoutError, waitFor, type KubeClient } from "@tessera/kube";
import { notInstalled } from "../not-installed.js";
import { duration } from "../output.js";
import type { KubeConnection } from "../session.js";
import type { Spinner } from "../spinner.js";

export function opsRef(namespace: string, name: string) {
  return { apiVersion: API_VERSION, kind: "OpsRequest", namespace, name };
}

export async function findOps(conn: KubeConnection, namespace: string, name: string): Promise<OpsRequest> {
  const op = await conn.client.find<OpsRequest>(opsRef(namespace, name)).catch((error: unknown) => {
    if (error instanceof ApiError && error.statusCode === 404) throw notInstalled(conn.server);
    throw error;
  });
  if (!op) {
    throw new Error(
      `OpsRequest "${name}" not found in namespace ${namespace}; list them with \`tessera ops list -n ${namespace}\``,
    );
  }
  return op;
}

export function opsHealth(phase: OpsPhase | undefined): "good" | "bad" | "pending" {
  if (phase === "Succeed") return "good";
  return phase === "Failed" || phase === "Aborted" ? "bad" : "pending";
}

/** Where an operation stands in one line: progress, message, and the instance it works on. */
export function describeProgress(op: OpsRequest): string {
  const status = op.status;
  const busy = status?.instances?.find((i) => i.phase === "Processing");
  return [
    status?.phase ?? "Pending",
    status?.progress,
    status?.message,
    busy ? `${busy.name}: ${busy.action}${busy.message ? ` (${busy.message})` : ""}` : undefined,
  ]
    .filter(Boolean)
    .join(", ");
}

/**
 * Waits until the operation ends, showing its progress on the spinner; the
 * wait running out is an error that says where to follow it.
 */
export async function waitUntilEnded(
  client: KubeClient,
  namespace: string,
  name: string,
  timeoutMs: number,
  spinner: Spinner,
): Promise<OpsRequest> {
  let last = "Pending";
  try {
    return await waitFor(
      async () => {
        const current = await client.find<OpsRequest>(opsRef(namespace, name));
        if (!current)
          throw new StopWaiting(new Error(`OpsRequest ${namespace}/${name} was deleted while waiting`));
        spinner.detail = last = describeProgress(current);
        return isTerminalOpsPhase(current.status?.phase) ? current : undefined;
      },
      { description: `OpsRequest ${namespace}/${name} to end`, timeoutMs, intervalMs: 1000 },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw new Error(
      `OpsRequest ${namespace}/${name} has not ended after ${duration(timeoutMs)} (${last}); it goes on: ${follow(namespace, name)}`,
    );
  }
}

/** The ended operation if it ended as wanted; otherwise an error with its reason and where to look. */
export function endedAs(op: OpsRequest, phase: OpsPhase): OpsRequest {
  if (op.status?.phase === phase) return op;
  const { namespace, name } = op.metadata;
  throw new Error(
    `OpsRequest ${namespace}/${name} ended ${op.status?.phase} (${op.status?.reason}): ${op.status?.message}; ${follow(namespace!, name!)}`,
  );
}

function follow(namespace: string, name: string): string {
  return `see \`tessera ops describe ${name} -n ${namespace}\``;
}
