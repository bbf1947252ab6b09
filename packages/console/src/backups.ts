import { API_VERSION, type Backup, type Cluster } from "@tessera/api";
import type { KubeClient } from "@tessera/kube";
import { restorableRange } from "./create.js";
import { body, optionalText, text } from "./forms.js";

export interface BackupSummary {
  namespace: string;
  name: string;
  cluster: string;
  phase: string;
  method?: string;
  sizeBytes?: number;
  completionTime?: string;
  message?: string;
  pointInTime?: boolean;
  /** The moments a restore of this backup can reach besides its end, when it has archived logs. */
  restorable?: RecoverableRange;
}

export interface RecoverableRange {
  from?: string;
  to?: string;
}

export interface BackupList {
  backups: BackupSummary[];
  /** What a restore of each cluster with backups can reach, by cluster (`namespace/name`). */
  ranges: Record<string, RecoverableRange>;
}

function summarize(backup: Backup, range: RecoverableRange | undefined): BackupSummary {
  return {
    namespace: backup.metadata.namespace!,
    name: backup.metadata.name!,
    cluster: backup.spec.clusterName,
    phase: backup.status?.phase ?? "Pending",
    method: backup.status?.method ?? backup.spec.method,
    sizeBytes: backup.status?.sizeBytes,
    completionTime: backup.status?.completionTime,
    message: backup.status?.message,
    pointInTime: backup.status?.pointInTime,
    restorable: restorableRange(backup, range),
  };
}

/** The user's Backups (one namespace, or all), newest first, with their clusters' recoverable ranges. */
export async function listBackups(client: KubeClient, namespace?: string): Promise<BackupList> {
  const [backups, clusters] = await Promise.all([
    client.listAll<Backup>(API_VERSION, "Backup", { namespace }),
    client.listAll<Cluster>(API_VERSION, "Cluster", { namespace }),
  ]);
  const ranges: Record<string, RecoverableRange> = {};
  for (const c of clusters.items) {
    const range = c.status?.backup?.recoverableRange;
    if (range) ranges[`${c.metadata.namespace}/${c.metadata.name}`] = range;
  }
  const created = (b: Backup) => String(b.metadata.creationTimestamp ?? "");
  return {
    backups: backups.items
      .sort((a, b) => created(b).localeCompare(created(a)))
      .map((b) => summarize(b, ranges[`${b.metadata.namespace}/${b.spec.clusterName}`])),
    ranges,
  };
}

/** A Backup of a cluster from the backups page: the repository and method default to the cluster's. */
export function backupFromForm(input: unknown): Backup {
  const form = body(input);
  const cluster = text(form, "cluster", "spec.clusterName");
  const name = optionalText(form, "name", "metadata.name");
  return {
    apiVersion: API_VERSION,
    kind: "Backup",
    metadata: {
      namespace: text(form, "namespace", "metadata.namespace"),
      ...(name ? { name } : { generateName: `${cluster}-` }),
    },
    spec: { clusterName: cluster, deletionPolicy: "Delete" },
  } as Backup;
}
