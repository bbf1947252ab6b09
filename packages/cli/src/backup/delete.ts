import type { Backup } from "@tessera/api";
import { WaitTimeoutError, waitFor } from "@tessera/kube";
import { duration, print } from "../output.js";
import type { Session } from "../session.js";
import { Spinner } from "../spinner.js";
import { backupRef, findBackup } from "./common.js";

export interface DeleteBackupOptions {
  namespace?: string;
  wait?: boolean;
  timeout: number;
}

/** What deleting the Backup does to its data, as its deletion policy says. */
export function deletionEffect(backup: Backup): string {
  const where = backup.status?.repo ?? backup.spec.repo ?? "its repository";
  if (backup.spec.deletionPolicy === "Retain") {
    return `deletion policy Retain: its data stays in ${where}${backup.status?.path ? ` at ${backup.status.path}` : ""}`;
  }
  return backup.status?.path
    ? `deletion policy Delete: the operator first deletes ${backup.status.path} from ${where}`
    : "deletion policy Delete: nothing was stored yet";
}

/** Deletes a Backup; with --wait, until the operator has removed its data and the object is gone. */
export async function deleteBackup(
  session: Session,
  name: string,
  options: DeleteBackupOptions,
): Promise<void> {
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const backup = await findBackup(conn, namespace, name);
  await conn.client.delete(backupRef(namespace, name));
  print(`backup ${namespace}/${name} is being deleted (${deletionEffect(backup)})`);
  if (!options.wait) return;
  let last = "Deleting";
  await Spinner.run(session.style, `waiting for ${name} to be deleted`, async (spinner) => {
    try {
      await waitFor(
        async () => {
          const current = await conn.client.find<Backup>(backupRef(namespace, name));
          if (!current || current.metadata.uid !== backup.metadata.uid) return true;
          spinner.detail = last = current.status?.message?.split("\n")[0] ?? "Deleting";
          return false;
        },
        {
          description: `backup ${namespace}/${name} to be deleted`,
          timeoutMs: options.timeout,
          intervalMs: 1000,
        },
      );
    } catch (error) {
      if (!(error instanceof WaitTimeoutError)) throw error;
      throw new Error(
        `backup ${namespace}/${name} is still being deleted after ${duration(options.timeout)} (${last}); see \`tessera backup describe ${name} -n ${namespace}\``,
      );
    }
  });
}
