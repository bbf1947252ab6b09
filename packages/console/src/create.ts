import {
  restoredClusterSpec,
  API_VERSION,
  type Backup,
  type Cluster,
  type ClusterComponentSpec,
  type TerminationPolicy,
} from "@tessera/api";
import type { KubeClient } from "@tessera/kube";
import { listEngines } from "./catalog.js";
import { body, FormError, optionalInteger, optionalText, text } from "./forms.js";

/** Each definition volume gets a claim of this size unless the form says otherwise (as `tessera cluster create`). */
const DEFAULT_STORAGE = "1Gi";

const TERMINATION_POLICIES: TerminationPolicy[] = ["DoNotTerminate", "Delete", "WipeOut"];

/**
 * A Cluster from the creation form: engine, topology and, per component of
 * the topology, version, replicas, CPU/memory and storage; optionally a
 * backup repository, schedule and point-in-time archiving. Values are
 * passed on as typed: the apiserver and the webhook judge them, and their
 * refusal names the field.
 */
export async function clusterFromForm(client: KubeClient, input: unknown): Promise<Cluster> {
  const form = body(input);
  const namespace = text(form, "namespace", "metadata.namespace");
  const name = text(form, "name", "metadata.name");
  const engineName = text(form, "engine", "spec.clusterDef");
  const engine = (await listEngines(client)).find((e) => e.name === engineName);
  if (!engine) throw new FormError("spec.clusterDef", `no installed engine "${engineName}"`);
  const topologyName = optionalText(form, "topology", "spec.topology");
  const topology = topologyName
    ? engine.topologies.find((t) => t.name === topologyName)
    : (engine.topologies.find((t) => t.default) ?? engine.topologies[0]);
  if (!topology) throw new FormError("spec.topology", `"${topologyName}" is not a topology of ${engineName}`);
  const terminationPolicy = optionalText(form, "terminationPolicy", "spec.terminationPolicy") ?? "Delete";
  if (!TERMINATION_POLICIES.includes(terminationPolicy as TerminationPolicy))
    throw new FormError("spec.terminationPolicy", `one of ${TERMINATION_POLICIES.join(", ")}`);
  const asked = Array.isArray(form.components) ? (form.components as unknown[]) : [];
  const componentSpecs = topology.components.map((c, i): ClusterComponentSpec => {
    const field = `spec.componentSpecs[${i}]`;
    const one = body(asked.find((a) => body(a).name === c.name) ?? { name: c.name });
    const cpu = optionalText(one, "cpu", `${field}.resources.cpu`);
    const memory = optionalText(one, "memory", `${field}.resources.memory`);
    const resources = { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) };
    const storage = optionalText(one, "storage", `${field}.volumeClaimTemplates`) ?? DEFAULT_STORAGE;
    const serviceVersion = optionalText(one, "version", `${field}.serviceVersion`);
    return {
      name: c.name,
      ...(serviceVersion ? { serviceVersion } : {}),
      replicas: optionalInteger(one, "replicas", `${field}.replicas`) ?? Math.max(1, c.minReplicas),
      ...(cpu || memory ? { resources: { requests: resources, limits: resources } } : {}),
      ...(c.volumes.length > 0
        ? {
            volumeClaimTemplates: c.volumes.map((volume) => ({
              name: volume,
              spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
            })),
          }
        : {}),
    };
  });
  const backupForm = form.backup === undefined || form.backup === null ? undefined : body(form.backup);
  const repo = backupForm && optionalText(backupForm, "repo", "spec.backup.repo");
  const schedule = backupForm && optionalText(backupForm, "schedule", "spec.backup.schedule");
  return {
    apiVersion: API_VERSION,
    kind: "Cluster",
    metadata: { namespace, name },
    spec: {
      clusterDef: engine.name,
      topology: topology.name,
      terminationPolicy: terminationPolicy as TerminationPolicy,
      componentSpecs,
      ...(repo
        ? {
            backup: {
              repo,
              ...(schedule ? { schedule } : {}),
              ...(backupForm.pointInTime === true ? { pointInTime: true } : {}),
            },
          }
        : {}),
    },
  } as Cluster;
}

/**
 * The moments a restore of `backup` can reach: from the end of the backup
 * (or the range's start, if later) to the end of the source cluster's
 * range; only the end of the backup without archived logs.
 */
export function restorableRange(
  backup: Backup,
  range: { from?: string; to?: string } | undefined,
): { from?: string; to?: string } | undefined {
  const end = backup.status?.completionTime;
  if (!backup.status?.pointInTime || !end || !range?.from || !range.to) return undefined;
  return { from: Date.parse(range.from) > Date.parse(end) ? range.from : end, to: range.to };
}

/** Whether `moment` lies in `range`. */
export function withinRange(moment: string, range: { from?: string; to?: string } | undefined): boolean {
  const at = Date.parse(moment);
  if (Number.isNaN(at) || !range?.from || !range.to) return false;
  return at >= Date.parse(range.from) && at <= Date.parse(range.to);
}

/**
 * A new cluster restored from a backup: shaped like the backed-up cluster
 * (engine, topology and each component's size, volumes, version and
 * parameters; the restored component at the version the backup was taken
 * at; no backup settings), recovering to the end of the backup or to a
 * point in time the backup can reach.
 */
export async function restoreFromForm(
  client: KubeClient,
  namespace: string,
  backupName: string,
  input: unknown,
): Promise<Cluster> {
  const form = body(input);
  const name = text(form, "name", "metadata.name");
  const pointInTime = optionalText(form, "pointInTime", "spec.restore.pointInTime");
  const backup = await client.get<Backup>({
    apiVersion: API_VERSION,
    kind: "Backup",
    namespace,
    name: backupName,
  });
  const source = await client.find<Cluster>({
    apiVersion: API_VERSION,
    kind: "Cluster",
    namespace,
    name: backup.spec.clusterName,
  });
  if (!source)
    throw new FormError(
      "spec.restore.backup",
      `cluster ${backup.spec.clusterName} is gone; restore this backup with \`tessera cluster restore\``,
    );
  const range = restorableRange(backup, source.status?.backup?.recoverableRange);
  if (pointInTime && !withinRange(pointInTime, range))
    throw new FormError(
      "spec.restore.pointInTime",
      range
        ? `${pointInTime} is outside what backup ${backupName} can reach (${range.from} to ${range.to})`
        : `backup ${backupName} restores only to its own end`,
    );
  return {
    apiVersion: API_VERSION,
    kind: "Cluster",
    metadata: { namespace, name },
    spec: restoredClusterSpec(source, backup, {
      backup: backupName,
      ...(pointInTime ? { pointInTime: new Date(pointInTime).toISOString() } : {}),
    }),
  };
}
