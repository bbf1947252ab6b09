import { API_VERSION, type Backup } from "@tessera/api";
import { ApiError } from "@tessera/kube";
import { notInstalled } from "../not-installed.js";
import type { KubeConnection } from "../session.js";

export function backupRef(namespace: string, name: string) {
  return { apiVersion: API_VERSION, kind: "Backup", namespace, name };
}

export async function findBackup(conn: KubeConnection, namespace: string, name: string): Promise<Backup> {
  const backup = await conn.client.find<Backup>(backupRef(namespace, name)).catch((error: unknown) => {
    if (error instanceof ApiError && error.statusCode === 404) throw notInstalled(conn.server);
    throw error;
  });
  if (!backup) {
    throw new Error(
      `backup "${name}" not found in namespace ${namespace}; list backups with \`tessera backup list -A\``,
    );
  }
  return backup;
}

export function backupHealth(phase: string | undefined): "good" | "bad" | "pending" {
  if (phase === "Completed") return "good";
  return phase === "Failed" ? "bad" : "pending";
}

/** The phase, with the reason of a failure: `Failed (RepoUnreachable)`. */
export function backupState(backup: Backup): string {
  const phase = backup.status?.phase ?? "Pending";
  return backup.status?.reason ? `${phase} (${backup.status.reason})` : phase;
}
