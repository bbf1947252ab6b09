import {
  restoredClusterSpec,
  API_VERSION,
  type Backup,
  type Cluster,
  type ClusterComponentSpec,
  type ComponentDefinition,
} from "@tessera/api";
import { findBackup } from "../backup/common.js";
import { UsageError } from "../errors.js";
import type { OutputFormat } from "../options.js";
import { print, serialize, timestamp, withoutManagedFields } from "../output.js";
import type { Session } from "../session.js";
import { Spinner } from "../spinner.js";
import { checkClusterName, clusterRef, waitUntilRunning } from "./common.js";
import { submit } from "./create.js";

export interface RestoreOptions {
  from: string;
  toTime?: string;
  namespace?: string;
  replicas?: number;
  wait?: boolean;
  timeout: number;
  output: OutputFormat;
}

const GIB = 1024 ** 3;

/** `--to-time` as RFC 3339 in UTC; anything Date parses is accepted, since it is then written out exactly. */
export function parsePointInTime(text: string): string {
  const ms = Date.parse(text);
  if (!text.trim() || Number.isNaN(ms)) {
    throw new UsageError(`--to-time ${text}: not a time; write it in RFC 3339, e.g. 2026-01-01T12:00:00Z`);
  }
  return timestamp(ms)!;
}

/**
 * Volume size when the backed-up cluster is gone and its volumes with it: twice the data the
 * engine produced (room for the logs replayed and for growth), at least 1Gi.
 */
export function defaultVolumeSize(sourceBytes: number | undefined): string {
  return `${Math.max(1, Math.ceil((2 * (sourceBytes ?? 0)) / GIB))}Gi`;
}

export interface RestoreInput {
  name: string;
  namespace: string;
  backup: Backup;
  /** The cluster the backup was taken of, when it still exists. */
  source?: Cluster;
  /** The backup's ComponentDefinition, needed when the source cluster is gone. */
  definition?: ComponentDefinition;
  replicas?: number;
  pointInTime?: string;
}

export interface RestorePlan {
  cluster: Cluster;
  /** One line for people: where the new cluster's shape comes from. */
  summary: string;
}

/**
 * The Cluster that restores a backup. With the source cluster still there, its engine, topology
 * and every component's replicas, resources, volumes, version and parameters are copied; the
 * restored component takes the version the backup was taken at. Without it, the cluster is the
 * backed-up component alone, from the backup's ComponentDefinition and version, with the
 * definition's minimum replicas and a volume per data volume of defaultVolumeSize. Backup
 * settings, exposed services and the termination policy are not copied.
 */
export function restoredCluster(input: RestoreInput): RestorePlan {
  const { backup, source } = input;
  const status = backup.status ?? {};
  const component = status.component;
  if (!component) throw new Error(`backup ${backup.metadata.name} does not record which component it holds`);
  const restore = {
    backup: backup.metadata.name!,
    ...(input.pointInTime ? { pointInTime: input.pointInTime } : {}),
  };
  const metadata = { name: input.name, namespace: input.namespace };
  if (source) {
    const spec = restoredClusterSpec(source, backup, restore);
    const restored = spec.componentSpecs.find((c) => c.name === component);
    if (!restored)
      throw new Error(
        `cluster ${source.metadata.name} has no component ${component} any more to restore into`,
      );
    if (input.replicas !== undefined) restored.replicas = input.replicas;
    const cluster: Cluster = { apiVersion: API_VERSION, kind: "Cluster", metadata, spec };
    const engine = [source.spec.clusterDef, source.spec.topology].filter(Boolean).join("/");
    return {
      cluster,
      summary: `shaped like cluster ${source.metadata.name}${engine ? ` (${engine})` : ""}: ${component}${restored.serviceVersion ? ` ${restored.serviceVersion}` : ""} × ${restored.replicas}`,
    };
  }
  const definition = input.definition;
  if (!status.compDef || !definition) {
    throw new Error(
      `cluster ${backup.spec.clusterName} is gone and the ComponentDefinition ${status.compDef ?? "of the backup"} is not installed; install its addon, or write the Cluster with spec.restore yourself`,
    );
  }
  const size = defaultVolumeSize(status.sourceBytes);
  const replicas = input.replicas ?? Math.max(definition.spec.replicasLimit?.minReplicas ?? 1, 1);
  const volumes = definition.spec.volumes ?? [];
  const spec: ClusterComponentSpec = {
    name: component,
    componentDef: status.compDef,
    ...(status.serviceVersion ? { serviceVersion: status.serviceVersion } : {}),
    replicas,
    ...(volumes.length
      ? {
          volumeClaimTemplates: volumes.map((volume) => ({
            name: volume.name,
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } },
          })),
        }
      : {}),
  };
  return {
    cluster: {
      apiVersion: API_VERSION,
      kind: "Cluster",
      metadata,
      spec: { terminationPolicy: "Delete", componentSpecs: [spec], restore },
    },
    summary: `cluster ${backup.spec.clusterName} is gone, so from the backup: ${component} (${status.compDef}${status.serviceVersion ? ` ${status.serviceVersion}` : ""}) × ${replicas}${volumes.length ? `, ${size} volumes` : ""}`,
  };
}

/** Creates a cluster from a Completed backup, optionally recovered to a point in time. */
export async function restoreCluster(session: Session, name: string, options: RestoreOptions): Promise<void> {
  checkClusterName(name);
  const pointInTime = options.toTime === undefined ? undefined : parsePointInTime(options.toTime);
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const backup = await findBackup(conn, namespace, options.from);
  if (await conn.client.find<Cluster>(clusterRef(namespace, name))) {
    throw new Error(
      `cluster "${name}" already exists in namespace ${namespace}; a restore makes a new cluster, so pick another name`,
    );
  }
  if (backup.status?.phase !== "Completed") {
    throw new Error(
      `backup ${options.from} is ${backup.status?.phase ?? "Pending"}; only a Completed backup can be restored (see \`tessera backup describe ${options.from} -n ${namespace}\`)`,
    );
  }
  const found = await conn.client.find<Cluster>(clusterRef(namespace, backup.spec.clusterName));
  // A cluster created again under the same name is another cluster: its shape says nothing of the backup's.
  const sourceUID = backup.status.sourceClusterUID;
  const source = found && (!sourceUID || found.metadata.uid === sourceUID) ? found : undefined;
  const definition =
    source || !backup.status.compDef
      ? undefined
      : await conn.client.find<ComponentDefinition>({
          apiVersion: API_VERSION,
          kind: "ComponentDefinition",
          name: backup.status.compDef,
        });
  const plan = restoredCluster({
    name,
    namespace,
    backup,
    source,
    definition,
    replicas: options.replicas,
    pointInTime,
  });
  const created = await submit(conn, plan.cluster, false);
  if (options.output !== "table") print(serialize(withoutManagedFields(created), options.output));
  else {
    const to = pointInTime ? `, recovered to ${pointInTime}` : "";
    print(`cluster ${namespace}/${name} created from backup ${options.from}${to}; ${plan.summary}`);
  }
  if (options.wait) {
    await Spinner.run(session.style, `restoring ${name}`, (spinner) =>
      waitUntilRunning(conn.client, namespace, name, options.timeout, spinner),
    );
  } else if (options.output === "table") {
    print(`follow it with \`tessera cluster describe ${name} -n ${namespace}\``);
  }
}
