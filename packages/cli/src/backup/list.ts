import { API_VERSION, type Backup } from "@tessera/api";
import { ApiError } from "@tessera/kube";
import { notInstalled } from "../not-installed.js";
import type { OutputFormat } from "../options.js";
import { age, bytes, print, serialize, table, withoutManagedFields } from "../output.js";
import type { Session } from "../session.js";
import type { Style } from "../style.js";
import { backupHealth, backupState } from "./common.js";

export interface ListBackupsOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output: OutputFormat;
}

/** A failure's last line: the status message holds the tail of the error output. */
function lastLine(message: string | undefined): string {
  return (message ?? "").trim().split("\n").at(-1)!.trim();
}

/** Table rows, oldest first per cluster; the message column only for failures. */
export function backupRows(style: Style, backups: Backup[], withNamespace: boolean): string[][] {
  return [...backups]
    .sort(
      (a, b) =>
        `${a.metadata.namespace}/${a.spec.clusterName}`.localeCompare(
          `${b.metadata.namespace}/${b.spec.clusterName}`,
        ) || String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)),
    )
    .map((backup) => {
      const status = backup.status ?? {};
      const row = [
        backup.metadata.name!,
        backup.spec.clusterName,
        status.method ?? backup.spec.method ?? "-",
        status.repo ?? backup.spec.repo ?? "-",
        style.state(backupState(backup), backupHealth(status.phase)),
        status.sizeBytes === undefined ? "-" : bytes(status.sizeBytes),
        status.phase === "Completed" ? age(status.completionTime) : "-",
        age(backup.metadata.creationTimestamp),
        status.phase === "Failed" || status.phase === "Deleting" ? lastLine(status.message) : "",
      ];
      return withNamespace ? [backup.metadata.namespace!, ...row] : row;
    });
}

export async function listBackups(
  session: Session,
  cluster: string | undefined,
  options: ListBackupsOptions,
): Promise<void> {
  const conn = await session.kube();
  const namespace = options.allNamespaces ? undefined : (options.namespace ?? conn.namespace);
  const list = await conn.client
    .listAll<Backup>(API_VERSION, "Backup", { namespace })
    .catch((error: unknown) => {
      if (error instanceof ApiError && error.statusCode === 404) throw notInstalled(conn.server);
      throw error;
    });
  const backups = list.items.filter((b) => cluster === undefined || b.spec.clusterName === cluster);
  if (options.output !== "table") {
    print(serialize(backups.map(withoutManagedFields), options.output));
    return;
  }
  if (backups.length === 0) {
    const where = namespace ? `in namespace ${namespace}` : "in any namespace";
    process.stderr.write(
      `no backups${cluster ? ` of cluster ${cluster}` : ""} ${where}; take one with \`tessera backup create CLUSTER\`\n`,
    );
    return;
  }
  const head = ["name", "cluster", "method", "repo", "status", "size", "completed", "age", "message"];
  print(
    table(
      session.style,
      options.allNamespaces ? ["namespace", ...head] : head,
      backupRows(session.style, backups, options.allNamespaces ?? false),
    ),
  );
}
