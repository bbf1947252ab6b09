import type { CoreV1Event, V1ContainerStateTerminated, V1Pod } from "@kubernetes/client-node";
import {
  API_VERSION,
  backupRepoLocation,
  labels,
  names,
  type Backup,
  type BackupMethod,
  type BackupPolicy,
  type BackupRepo,
  type BackupStatus,
  type Cluster,
  type ComponentDefinition,
  type InstanceSet,
} from "@tessera/api";
import {
  ApiError,
  Controller,
  addFinalizer,
  hasFinalizer,
  isAlreadyExists,
  isNotFound,
  removeFinalizer,
  updateStatus,
  type Informer,
  type ReconcileResult,
} from "@tessera/kube";
import { podIsReady } from "../actions/runner.js";
import type { OperatorContext } from "../context.js";
import { resolveCluster, type DefinitionCatalog } from "../definitions.js";
import { finalizers } from "../naming.js";
import { backupsCompleted, backupsFailed, lastBackupCompletion, lastBackupStatus } from "./metrics.js";
import { BACKUP_ANNOTATION, backupPod, backupPodName, deletePod, type PodPurpose } from "./pods.js";
import { ensureRepoSecret, repoAccess } from "./repo-access.js";
import { backupSettings } from "./settings.js";
import { rfc3339 } from "../time.js";

const KIND = "Backup";
export const DEFAULT_BACKUP_TIMEOUT_SECONDS = 3600;
/** A pod that cannot start (image, scheduling) for this long fails the backup. */
const START_TIMEOUT_MS = 120_000;
/** How long a volume the node cannot mount is retried before the backup fails. */
const MOUNT_RETRY_MS = 30_000;
const POLL_MS = 5_000;

/** Where a cluster's data lives in a repository: its backups and archived logs, by cluster UID. */
export function clusterRepoPath(cluster: Cluster): string {
  return `${cluster.metadata.namespace}/${cluster.metadata.name}/${cluster.metadata.uid}`;
}

/** The component of a cluster a backup covers, with its definition's backup methods. */
export interface BackupTarget {
  component: string;
  fullName: string;
  compDef: ComponentDefinition;
  method: BackupMethod;
}

export class BackupSetupError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function backupTarget(
  catalog: DefinitionCatalog,
  cluster: Cluster,
  componentName: string | undefined,
  methodName: string | undefined,
): BackupTarget {
  const resolved = resolveCluster(catalog, cluster).components.filter((c) =>
    componentName ? c.name === componentName : c.compDef.spec.backup,
  );
  const chosen = resolved[0];
  if (!chosen) {
    throw new BackupSetupError(
      "NoBackupMethod",
      componentName
        ? `cluster ${cluster.metadata.name} has no component ${componentName}`
        : `no component of cluster ${cluster.metadata.name} has an addon that declares backup methods`,
    );
  }
  const methods = chosen.compDef.spec.backup?.methods ?? [];
  const method = methodName ? methods.find((m) => m.name === methodName) : methods[0];
  if (!method) {
    throw new BackupSetupError(
      "NoBackupMethod",
      methods.length
        ? `component ${chosen.name} has no backup method ${methodName}; it has ${methods.map((m) => m.name).join(", ")}`
        : `the addon of component ${chosen.name} (${chosen.compDef.metadata.name}) declares no backup method`,
    );
  }
  return {
    component: chosen.name,
    fullName: names.component(cluster.metadata.name!, chosen.name),
    compDef: chosen.compDef,
    method,
  };
}

/** The instance a method reads: per its target, among ready instances. */
export function chooseTarget(
  pods: V1Pod[],
  method: BackupMethod,
  writableRole: string | undefined,
): V1Pod | undefined {
  const ready = pods
    .filter((p) => podIsReady(p) && !p.metadata?.deletionTimestamp)
    .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  const isWritable = (pod: V1Pod) =>
    writableRole !== undefined && pod.metadata?.labels?.[labels.role] === writableRole;
  const primary = ready.find(isWritable);
  if (method.target === "primary") return writableRole ? primary : ready[0];
  if (method.target === "any") return ready[0];
  return ready.find((p) => !isWritable(p) && p.metadata?.labels?.[labels.role]) ?? primary ?? ready[0];
}

function lastLines(text: string | undefined, count = 5): string {
  return (text ?? "").trim().split("\n").slice(-count).join("\n").trim();
}

function terminated(pod: V1Pod, container: string): V1ContainerStateTerminated | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === container)?.state?.terminated;
}

/** Waiting reasons that do not go away by waiting. */
const STUCK = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
]);

/**
 * Runs each Backup: picks the instance to read, starts a backup pod, and records the result
 * (size, checksum, positions) only once the uploader reports every byte stored. A backup that
 * fails, times out or loses its pod is Failed with the reason; the operator restarting in between
 * picks up from status and the pod. Deleting a Backup removes its data first (deletionPolicy
 * Delete), by a short pod where the repository is reachable.
 */
export class BackupController {
  readonly controller: Controller;
  private readonly backups: Informer<Backup>;
  private readonly pods: Informer<V1Pod>;
  private readonly clusters: Informer<Cluster>;
  private readonly repos: Informer<BackupRepo>;
  private readonly policies: Informer<BackupPolicy>;
  private readonly sets: Informer<InstanceSet>;

  constructor(
    private readonly ctx: OperatorContext,
    private readonly catalog: DefinitionCatalog,
  ) {
    this.backups = ctx.informers.get<Backup>(API_VERSION, KIND);
    this.pods = ctx.informers.get<V1Pod>("v1", "Pod", { labelSelector: `${labels.managedBy}=tessera` });
    this.clusters = ctx.informers.get<Cluster>(API_VERSION, "Cluster");
    this.repos = ctx.informers.get<BackupRepo>(API_VERSION, "BackupRepo");
    this.policies = ctx.informers.get<BackupPolicy>(API_VERSION, "BackupPolicy");
    this.sets = ctx.informers.get<InstanceSet>(API_VERSION, "InstanceSet");
    this.controller = new Controller({
      name: "backup",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 2,
      logger: ctx.logger,
    })
      .watches(this.backups)
      .watchesMapped(this.pods, (pod) => {
        const backup = pod.metadata?.annotations?.[BACKUP_ANNOTATION];
        return backup ? [`${pod.metadata!.namespace}/${backup}`] : [];
      });
  }

  private ref(backup: Backup) {
    return {
      apiVersion: API_VERSION,
      kind: KIND,
      namespace: backup.metadata.namespace!,
      name: backup.metadata.name!,
    };
  }

  private pod(backup: Backup, purpose: PodPurpose): V1Pod | undefined {
    return this.pods.get(`${backup.metadata.namespace}/${backupPodName(backup.metadata.name!, purpose)}`);
  }

  /**
   * The pod as the apiserver has it: the status write that follows a pod's creation can start the next
   * reconcile before the pod's own watch event has reached the cache.
   */
  private async livePod(backup: Backup, purpose: PodPurpose): Promise<V1Pod | undefined> {
    try {
      return await this.ctx.client.get<V1Pod>({
        apiVersion: "v1",
        kind: "Pod",
        namespace: backup.metadata.namespace!,
        name: backupPodName(backup.metadata.name!, purpose),
      });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async reconcile(key: string): Promise<ReconcileResult | void> {
    const backup = this.backups.get(key);
    if (!backup) return;
    if (backup.metadata.deletionTimestamp) return this.finalize(backup);
    if (!hasFinalizer(backup, finalizers.backupData)) {
      await addFinalizer(this.ctx.client, this.ref(backup), finalizers.backupData);
      return;
    }
    switch (backup.status?.phase) {
      case undefined:
      case "Pending":
        return this.start(backup);
      case "Running":
        return this.follow(backup);
      default: {
        const pod = this.pod(backup, "backup");
        if (pod) await this.deletePodNamed(backup, pod.metadata!.name!);
      }
    }
  }

  private async start(backup: Backup): Promise<ReconcileResult | void> {
    const namespace = backup.metadata.namespace!;
    const cluster = this.clusters.get(`${namespace}/${backup.spec.clusterName}`);
    if (!cluster)
      return this.fail(
        backup,
        "ClusterNotFound",
        `cluster ${backup.spec.clusterName} does not exist in ${namespace}`,
      );
    const policy = backup.spec.policy ? this.policies.get(`${namespace}/${backup.spec.policy}`) : undefined;
    if (backup.spec.policy && !policy)
      return this.fail(
        backup,
        "PolicyNotFound",
        `backup policy ${backup.spec.policy} does not exist in ${namespace}`,
      );
    const settings = backupSettings(backup, policy, cluster);
    let target: BackupTarget;
    try {
      target = backupTarget(this.catalog, cluster, settings.componentName, settings.method);
    } catch (error) {
      if (error instanceof BackupSetupError) return this.fail(backup, error.reason, error.message);
      throw error;
    }
    const repoName = settings.repo;
    if (!repoName)
      return this.fail(
        backup,
        "NoRepo",
        `spec.repo is not set and cluster ${cluster.metadata.name} has no spec.backup.repo`,
      );
    const repo = this.repos.get(repoName);
    if (!repo) return this.fail(backup, "RepoNotFound", `backup repository ${repoName} does not exist`);
    if (repo.status?.phase !== "Ready") {
      const ready = repo.status?.conditions?.find((c) => c.type === "Ready");
      if (repo.status?.phase === "Failed") {
        return this.fail(
          backup,
          "RepoNotReady",
          `backup repository ${repoName} is not usable: ${ready?.message ?? "its check failed"}`,
        );
      }
      await this.setPending(backup, `waiting for backup repository ${repoName} to pass its check`);
      return { requeueAfterMs: POLL_MS };
    }
    if (cluster.spec.componentSpecs.every((c) => c.stop))
      return this.fail(backup, "ClusterStopped", `cluster ${cluster.metadata.name} is stopped`);
    const set = this.sets.get(`${namespace}/${names.instanceSet(target.fullName)}`);
    const pods = this.pods
      .list()
      .filter(
        (p) =>
          p.metadata?.namespace === namespace && p.metadata?.labels?.[labels.component] === target.fullName,
      );
    const writable = target.compDef.spec.roles?.find((r) => r.writable)?.name;
    const chosen = chooseTarget(pods, target.method, writable);
    if (!set || !chosen) {
      await this.setPending(
        backup,
        `waiting for a ready instance of ${target.component} to read (${target.method.target})`,
      );
      return { requeueAfterMs: POLL_MS };
    }
    const encryptionKeySecret = settings.encryptionKeySecret;
    const access = repoAccess(repo, encryptionKeySecret);
    await ensureRepoSecret(this.ctx.client, repo, namespace);
    const base = clusterRepoPath(cluster);
    const key = `${base}/backups/${backup.metadata.name}/${target.component}`;
    const pod = backupPod({
      backup,
      method: target.method,
      template: set.spec.template.spec as never,
      dataVolumes: new Set([
        ...(target.compDef.spec.volumes ?? []).map((v) => v.name),
        ...(set.spec.volumeClaimTemplates ?? []).map((v) => v.name),
      ]),
      targetPod: chosen.metadata!.name!,
      targetFQDN: names.podFQDN(chosen.metadata!.name!, set.spec.serviceName, namespace),
      key,
      access,
      compression: settings.compression ?? "zstd",
    });
    try {
      await this.ctx.client.create(pod);
    } catch (error) {
      // A pod the apiserver refuses will be refused again: say so instead of retrying in silence.
      if (error instanceof ApiError && error.statusCode === 422) {
        return this.fail(backup, "PodRefused", `the backup pod was refused: ${error.message}`);
      }
      if (!isAlreadyExists(error)) throw error;
    }
    const component = cluster.spec.componentSpecs.find((c) => c.name === target.component);
    await this.writeStatus(backup, (status) => ({
      ...status,
      phase: "Running",
      reason: undefined,
      message: `backing up ${chosen.metadata!.name} with ${target.method.name} to ${repoName}`,
      component: target.component,
      method: target.method.name,
      repo: repoName,
      location: backupRepoLocation(repo.spec),
      path: key,
      // Logs are archived to the cluster's own repository: only backups stored next to them can use them.
      ...(cluster.spec.backup?.pointInTime &&
      cluster.spec.backup.repo === repoName &&
      target.compDef.spec.backup?.logArchive
        ? { logsPath: `${base}/logs/${target.component}`, pointInTime: true }
        : {}),
      encrypted: Boolean(encryptionKeySecret),
      ...(encryptionKeySecret ? { encryptionKeySecret } : {}),
      compression: settings.compression ?? "zstd",
      targetPod: chosen.metadata!.name!,
      backupPod: pod.metadata!.name!,
      startTime: rfc3339(),
      compDef: target.compDef.metadata.name!,
      ...(component?.serviceVersion ? { serviceVersion: component.serviceVersion } : {}),
      sourceClusterUID: cluster.metadata.uid!,
    }));
    await this.ctx.recorder.record(
      backup,
      "Normal",
      "Started",
      `backing up ${chosen.metadata!.name} with ${target.method.name} to ${repoName} (${key})`,
    );
    return { requeueAfterMs: POLL_MS };
  }

  private async follow(backup: Backup): Promise<ReconcileResult | void> {
    const pod = this.pod(backup, "backup") ?? (await this.livePod(backup, "backup"));
    const started = Date.parse(backup.status?.startTime ?? "");
    const timeout = (backup.spec.timeoutSeconds ?? DEFAULT_BACKUP_TIMEOUT_SECONDS) * 1000;
    if (!pod)
      return this.fail(
        backup,
        "PodLost",
        `the backup pod ${backup.status?.backupPod} disappeared before it finished`,
      );
    if (pod.status?.phase === "Succeeded") return this.complete(backup, pod);
    if (pod.status?.phase === "Failed") return this.fail(backup, "BackupFailed", this.podFailure(pod), pod);
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    const waiting = statuses.map((c) => c.state?.waiting).find((w) => w?.reason && STUCK.has(w.reason));
    if (waiting)
      return this.fail(
        backup,
        "PodCannotStart",
        `the backup pod cannot start: ${waiting.message ?? waiting.reason}`,
        pod,
      );
    const elapsed = Date.now() - started;
    if (pod.status?.phase === "Pending") {
      // A node that cannot mount a volume (the repository's directory gone) says so in an Event only;
      // it retries, so a mount that still fails after a while is taken as final.
      const warning = await this.lastWarning(pod);
      if ((warning?.reason === "FailedMount" && elapsed > MOUNT_RETRY_MS) || elapsed > START_TIMEOUT_MS) {
        const why =
          warning?.message ?? pod.status?.conditions?.find((c) => c.status === "False")?.message ?? "pending";
        return this.fail(backup, "PodCannotStart", `the backup pod cannot start: ${why}`, pod);
      }
    }
    if (elapsed > timeout) {
      return this.fail(
        backup,
        "Timeout",
        `the backup did not finish within ${timeout / 1000} s (spec.timeoutSeconds)`,
        pod,
      );
    }
    return { requeueAfterMs: Math.min(POLL_MS * 6, Math.max(1000, started + timeout - Date.now())) };
  }

  private async lastWarning(pod: V1Pod): Promise<CoreV1Event | undefined> {
    const events = await this.ctx.client.list<CoreV1Event>("v1", "Event", {
      namespace: pod.metadata!.namespace!,
      fieldSelector: `involvedObject.uid=${pod.metadata!.uid}`,
    });
    return events.items
      .filter((e) => e.type === "Warning")
      .sort((a, b) => String(a.lastTimestamp ?? "").localeCompare(String(b.lastTimestamp ?? "")))
      .at(-1);
  }

  /** The uploader's own error when it failed for itself, else the backup command's stderr tail. */
  private podFailure(pod: V1Pod): string {
    const upload = terminated(pod, "upload");
    const command = terminated(pod, "backup");
    if (command && command.exitCode !== 0) {
      return `the backup command failed (exit status ${command.exitCode}): ${lastLines(command.message) || command.reason}`;
    }
    if (upload && upload.exitCode !== 0)
      return `storing the backup failed: ${lastLines(upload.message) || upload.reason}`;
    return pod.status?.message ?? "the backup pod failed";
  }

  private async complete(backup: Backup, pod: V1Pod): Promise<void> {
    const message = terminated(pod, "upload")?.message ?? "";
    let summary: { size: number; sourceSize?: number; sha256: string; meta: Record<string, string> };
    try {
      summary = JSON.parse(message.trim().split("\n").pop() ?? "") as typeof summary;
    } catch {
      return this.fail(
        backup,
        "NoSummary",
        `the uploader ended without reporting what it stored: ${lastLines(message)}`,
        pod,
      );
    }
    const end = new Date();
    const started = Date.parse(backup.status?.startTime ?? "");
    await this.writeStatus(backup, (status) => ({
      ...status,
      phase: "Completed",
      reason: undefined,
      message: `stored ${summary.size} bytes${summary.sourceSize === undefined ? "" : ` (${summary.sourceSize} before compression)`}`,
      sizeBytes: summary.size,
      sourceBytes: summary.sourceSize,
      sha256: summary.sha256,
      completionTime: rfc3339(end),
      durationSeconds: Number.isFinite(started)
        ? Math.round((end.getTime() - started) / 100) / 10
        : undefined,
      ...(summary.meta.startPosition ? { startPosition: summary.meta.startPosition } : {}),
      ...(summary.meta.endPosition ? { endPosition: summary.meta.endPosition } : {}),
      ...(summary.meta.engineVersion ? { engineVersion: summary.meta.engineVersion } : {}),
    }));
    const labelsOf = { namespace: backup.metadata.namespace!, cluster: backup.spec.clusterName };
    backupsCompleted.inc(labelsOf);
    lastBackupStatus.set(labelsOf, 1);
    lastBackupCompletion.set(labelsOf, end.getTime() / 1000);
    await this.ctx.recorder.record(
      backup,
      "Normal",
      "Completed",
      `stored ${summary.size} bytes in ${backup.status?.path}`,
    );
    await this.deletePodNamed(backup, pod.metadata!.name!);
  }

  private async fail(backup: Backup, reason: string, message: string, pod?: V1Pod): Promise<void> {
    await this.writeStatus(backup, (status) => ({
      ...status,
      phase: "Failed",
      reason,
      message,
      completionTime: rfc3339(),
    }));
    const labelsOf = { namespace: backup.metadata.namespace!, cluster: backup.spec.clusterName };
    backupsFailed.inc(labelsOf);
    lastBackupStatus.set(labelsOf, 0);
    this.ctx.logger.warn(
      { backup: backup.metadata.name, namespace: backup.metadata.namespace, reason },
      "backup failed",
    );
    await this.ctx.recorder.record(backup, "Warning", reason, message);
    if (pod) await this.deletePodNamed(backup, pod.metadata!.name!);
  }

  private async setPending(backup: Backup, message: string): Promise<void> {
    await this.writeStatus(backup, (status) => ({ ...status, phase: "Pending", message }));
  }

  private async writeStatus(backup: Backup, next: (status: BackupStatus) => BackupStatus): Promise<void> {
    await updateStatus<Backup>(this.ctx.client, this.ref(backup), (current) => {
      current.status = JSON.parse(JSON.stringify(next(current.status ?? {}))) as BackupStatus;
    });
  }

  private async deletePodNamed(backup: Backup, name: string): Promise<void> {
    try {
      await this.ctx.client.delete({
        apiVersion: "v1",
        kind: "Pod",
        namespace: backup.metadata.namespace!,
        name,
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /**
   * Removes the backup's data, then lets the Backup go. When the repository is gone or the policy
   * is Retain there is nothing to do; a failing deletion is retried and said in status, and
   * setting deletionPolicy Retain lets the Backup go without it.
   */
  private async finalize(backup: Backup): Promise<ReconcileResult | void> {
    if (!hasFinalizer(backup, finalizers.backupData)) return;
    const path = backup.status?.path;
    const repo = backup.status?.repo ? this.repos.get(backup.status.repo) : undefined;
    if (backup.spec.deletionPolicy === "Retain" || !path || !repo) {
      await removeFinalizer(this.ctx.client, this.ref(backup), finalizers.backupData);
      return;
    }
    const running = this.pod(backup, "backup");
    if (running) await this.deletePodNamed(backup, running.metadata!.name!);
    const prefix = path.slice(0, path.lastIndexOf("/"));
    const pod = this.pod(backup, "delete");
    if (!pod) {
      await ensureRepoSecret(this.ctx.client, repo, backup.metadata.namespace!);
      try {
        await this.ctx.client.create(deletePod(backup, prefix, repoAccess(repo)));
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }
      await this.writeStatus(backup, (status) => ({
        ...status,
        phase: "Deleting",
        message: `deleting ${prefix} from ${backup.status?.repo}`,
      }));
      return { requeueAfterMs: POLL_MS };
    }
    if (pod.status?.phase === "Succeeded") {
      await this.deletePodNamed(backup, pod.metadata!.name!);
      await removeFinalizer(this.ctx.client, this.ref(backup), finalizers.backupData);
      return;
    }
    if (pod.status?.phase === "Failed") {
      const why = lastLines(terminated(pod, "delete")?.message) || "the deletion pod failed";
      await this.writeStatus(backup, (status) => ({
        ...status,
        phase: "Deleting",
        message: `deleting the data failed, retrying (set spec.deletionPolicy to Retain to keep it instead): ${why}`,
      }));
      await this.ctx.recorder.record(backup, "Warning", "DeleteFailed", why);
      await this.deletePodNamed(backup, pod.metadata!.name!);
      return { requeueAfterMs: 30_000 };
    }
    return { requeueAfterMs: POLL_MS };
  }
}
