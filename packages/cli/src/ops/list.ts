import { API_VERSION, type OpsRequest } from "@tessera/api";
import { ApiError } from "@tessera/kube";
import { notInstalled } from "../not-installed.js";
import type { OutputFormat } from "../options.js";
import { age, print, serialize, table, withoutManagedFields } from "../output.js";
import type { Session } from "../session.js";
import { opsHealth } from "./common.js";

export interface ListOpsOptions {
  namespace?: string;
  allNamespaces?: boolean;
  cluster?: string;
  output: OutputFormat;
}

/** Operations, oldest first (their queue order within a cluster). */
export async function listOps(session: Session, options: ListOpsOptions): Promise<void> {
  const conn = await session.kube();
  const namespace = options.allNamespaces ? undefined : (options.namespace ?? conn.namespace);
  const list = await conn.client
    .list<OpsRequest>(API_VERSION, "OpsRequest", { namespace })
    .catch((error: unknown) => {
      if (error instanceof ApiError && error.statusCode === 404) throw notInstalled(conn.server);
      throw error;
    });
  const ops = list.items
    .filter((op) => !options.cluster || op.spec.clusterName === options.cluster)
    .sort(
      (a, b) =>
        String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)) ||
        a.metadata.name!.localeCompare(b.metadata.name!),
    );
  if (options.output !== "table") {
    print(serialize(ops.map(withoutManagedFields), options.output));
    return;
  }
  if (ops.length === 0) {
    const where = namespace ? `in namespace ${namespace}` : "in any namespace";
    process.stderr.write(
      `no operations${options.cluster ? ` on cluster ${options.cluster}` : ""} ${where}; start one with \`tessera cluster restart|stop|start|scale|switchover <name>\`\n`,
    );
    return;
  }
  const style = session.style;
  const rows = ops.map((op) => {
    const phase = op.status?.phase ?? "Pending";
    const row = [
      op.metadata.name!,
      op.spec.type,
      op.spec.clusterName,
      style.state(phase, opsHealth(op.status?.phase)),
      op.status?.progress ?? "-",
      age(op.metadata.creationTimestamp),
    ];
    return options.allNamespaces ? [op.metadata.namespace!, ...row] : row;
  });
  const head = ["name", "type", "cluster", "status", "progress", "age"];
  print(table(style, options.allNamespaces ? ["namespace", ...head] : head, rows));
}
