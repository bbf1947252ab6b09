import { API_VERSION, labels, restoredClusterSpec, type Backup, type Cluster } from "@tessera/api";
import { ApiError, isAlreadyExists } from "@tessera/kube";
import type { OpsHandler, StepContext, StepOutcome } from "../handler.js";

/** On a Backup or Cluster an operation created: the OpsRequest. */
export const OPS_LABEL = "tessera.dev/ops-request";

const running = (message: string): StepOutcome => ({
  state: "running",
  message,
  instances: [],
  progressing: true,
});
const failed = (reason: string, message: string): StepOutcome => ({
  state: "failed",
  reason,
  message,
  instances: [],
});

/**
 * Backup: creates a Backup of the cluster (named after the operation unless told) and follows it
 * to Completed or Failed. The Backup outlives the operation. Not cancellable: delete the Backup
 * to stop it (its partial data goes with it).
 */
export const backup: OpsHandler = {
  type: "Backup",
  cancellable: false,

  validate(op, cluster, resolved) {
    const spec = op.spec.backup ?? {};
    const methods = resolved.components.flatMap((c) => c.compDef.spec.backup?.methods ?? []);
    const errors: string[] = [];
    if (!methods.length)
      errors.push(`spec.type: the addon of cluster ${cluster.metadata.name} declares no backup method`);
    if (spec.method && methods.length && !methods.some((m) => m.name === spec.method)) {
      errors.push(
        `spec.backup.method: no method "${spec.method}"; the addon has ${methods.map((m) => m.name).join(", ")}`,
      );
    }
    if (!spec.repo && !cluster.spec.backup?.repo) {
      errors.push(
        `spec.backup.repo: required, since cluster ${cluster.metadata.name} has no spec.backup.repo`,
      );
    }
    return errors;
  },

  precondition() {
    return undefined;
  },

  plan() {
    return { steps: [{ name: "backup", phase: "Pending" }] };
  },

  async execute(_step, { op, view, ctx }: StepContext): Promise<StepOutcome> {
    const namespace = op.metadata.namespace!;
    const name = op.spec.backup?.backupName ?? op.metadata.name!;
    const ref = { apiVersion: API_VERSION, kind: "Backup", namespace, name };
    let found = await ctx.client.find<Backup>(ref);
    if (!found) {
      const spec = op.spec.backup ?? {};
      try {
        found = await ctx.client.create<Backup>({
          apiVersion: API_VERSION,
          kind: "Backup",
          metadata: {
            name,
            namespace,
            labels: { [labels.cluster]: view.cluster.metadata.name!, [OPS_LABEL]: op.metadata.name! },
          },
          spec: {
            clusterName: view.cluster.metadata.name!,
            ...(spec.method ? { method: spec.method } : {}),
            ...(spec.repo ? { repo: spec.repo } : {}),
            deletionPolicy: spec.deletionPolicy ?? "Delete",
          },
        });
      } catch (error) {
        if (error instanceof ApiError && error.statusCode !== 409)
          return failed("BackupRefused", error.message);
        if (!isAlreadyExists(error)) throw error;
        return running(`backup ${name} created`);
      }
    }
    if (found.metadata.labels?.[OPS_LABEL] !== op.metadata.name) {
      return failed(
        "BackupExists",
        `a backup named ${name} exists already; name another with spec.backup.backupName`,
      );
    }
    const status = found.status;
    if (status?.phase === "Completed") {
      return {
        state: "done",
        message: `backup ${name} completed: ${status.sizeBytes} bytes at ${status.path}`,
        instances: [],
      };
    }
    if (status?.phase === "Failed")
      return failed(status.reason ?? "BackupFailed", `backup ${name} failed: ${status.message}`);
    return running(`backup ${name}: ${status?.message ?? "starting"}`);
  },
};

/**
 * Restore: makes a new cluster from a Completed backup of this one, shaped like it
 * (restoredClusterSpec) with `spec.restore`, and follows it to Running. This cluster is not
 * touched. Not cancellable: delete the new cluster instead.
 */
export const restore: OpsHandler = {
  type: "Restore",
  cancellable: false,

  validate(op, cluster) {
    const spec = op.spec.restore;
    if (!spec) return ["spec.restore: name the backup (backupName) and the new cluster (clusterName)"];
    if (spec.clusterName === cluster.metadata.name) {
      return [
        `spec.restore.clusterName: the new cluster needs a name of its own, not ${cluster.metadata.name}`,
      ];
    }
    return [];
  },

  precondition() {
    return undefined;
  },

  plan(op) {
    return { steps: [{ name: `restore into ${op.spec.restore!.clusterName}`, phase: "Pending" }] };
  },

  async execute(_step, { op, view, ctx }: StepContext): Promise<StepOutcome> {
    const spec = op.spec.restore!;
    const namespace = op.metadata.namespace!;
    const source = view.cluster;
    const target = await ctx.client.find<Cluster>({
      apiVersion: API_VERSION,
      kind: "Cluster",
      namespace,
      name: spec.clusterName,
    });
    if (target) {
      if (target.metadata.labels?.[OPS_LABEL] !== op.metadata.name) {
        return failed("ClusterExists", `cluster ${spec.clusterName} exists already; restore into a new name`);
      }
      if (target.status?.phase === "Running") {
        return {
          state: "done",
          message: `cluster ${spec.clusterName} restored from ${spec.backupName} and Running`,
          instances: [],
        };
      }
      return running(
        `cluster ${spec.clusterName} is ${target.status?.phase ?? "being created"}: ${target.status?.message ?? ""}`,
      );
    }
    const backup = await ctx.client.find<Backup>({
      apiVersion: API_VERSION,
      kind: "Backup",
      namespace,
      name: spec.backupName,
    });
    if (!backup) return failed("BackupNotFound", `backup ${spec.backupName} does not exist in ${namespace}`);
    if (backup.spec.clusterName !== source.metadata.name) {
      return failed(
        "OtherCluster",
        `backup ${spec.backupName} is of cluster ${backup.spec.clusterName}, not ${source.metadata.name}`,
      );
    }
    try {
      await ctx.client.create<Cluster>({
        apiVersion: API_VERSION,
        kind: "Cluster",
        metadata: { name: spec.clusterName, namespace, labels: { [OPS_LABEL]: op.metadata.name! } },
        spec: restoredClusterSpec(source, backup, {
          backup: spec.backupName,
          ...(spec.pointInTime ? { pointInTime: spec.pointInTime } : {}),
        }),
      });
    } catch (error) {
      // The webhook's refusal (backup not Completed, moment out of range) is the operation's failure.
      if (error instanceof ApiError && error.statusCode !== 409)
        return failed("RestoreRefused", error.message);
      if (!isAlreadyExists(error)) throw error;
    }
    return running(`cluster ${spec.clusterName} created from backup ${spec.backupName}`);
  },
};
