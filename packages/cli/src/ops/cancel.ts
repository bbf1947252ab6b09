import { isTerminalOpsPhase } from "@tessera/api";
import { ApiError } from "@tessera/kube";
import { print } from "../output.js";
import type { Session } from "../session.js";
import { Spinner } from "../spinner.js";
import { endedAs, findOps, opsRef, waitUntilEnded } from "./common.js";

export interface CancelOptions {
  namespace?: string;
  wait?: boolean;
  timeout: number;
}

/** Asks for an operation to be cancelled (the webhook refuses what cannot be); with --wait, until it ended. */
export async function cancelOps(session: Session, name: string, options: CancelOptions): Promise<void> {
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const op = await findOps(conn, namespace, name);
  if (isTerminalOpsPhase(op.status?.phase)) {
    print(`OpsRequest ${namespace}/${name} already ended ${op.status?.phase}; nothing to cancel`);
    return;
  }
  try {
    await conn.client.patch(opsRef(namespace, name), { spec: { cancel: true } }, "merge");
  } catch (error) {
    if (error instanceof ApiError && (error.statusCode === 403 || error.statusCode === 422))
      throw new Error(`cannot cancel ${name}: ${error.message}`);
    throw error;
  }
  print(
    `cancel requested for OpsRequest ${namespace}/${name} (${op.spec.type}, ${op.status?.phase ?? "Pending"})`,
  );
  if (!options.wait) return;
  const ended = await Spinner.run(session.style, `cancelling ${name}`, (spinner) =>
    waitUntilEnded(conn.client, namespace, name, options.timeout, spinner),
  );
  // An operation that ended before the cancellation reached it ended as it did.
  if (ended.status?.phase !== "Succeed") endedAs(ended, "Cancelled");
  print(`OpsRequest ${namespace}/${name} ended ${ended.status?.phase}: ${ended.status?.message}`);
}
