import { randomUUID } from "node:crypto";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import {
  API_VERSION,
  S3_CREDENTIAL_KEYS,
  backupRepoLocation,
  labels,
  type BackupRepo,
  type BackupRepoStatus,
} from "@tessera/api";
import {
  Controller,
  isAlreadyExists,
  isNotFound,
  updateStatus,
  type Informer,
  type ReconcileResult,
} from "@tessera/kube";
import { getCondition, setCondition } from "../conditions.js";
import type { OperatorContext } from "../context.js";
import { GENERATION_ANNOTATION, REPO_ANNOTATION, checkPod, checkPodName, checkPodOutcome } from "./check.js";
import type { RepoCheckResult } from "./check.js";
import { checkS3Repo, type S3Credentials } from "./s3-check.js";
import { rfc3339 } from "../time.js";

const KIND = "BackupRepo";
/** A Ready repository is checked again this often: a bucket or directory can go away. */
export const RECHECK_MS = 5 * 60_000;
/** A failed check is retried after 5 s, doubling up to this. */
const MAX_RETRY_MS = 60_000;
const FIRST_RETRY_MS = 5_000;

/** When the next check of the repository is due (epoch ms); now when its spec changed since the last. */
export function nextCheckAt(repo: BackupRepo): number {
  const status = repo.status;
  const last = Date.parse(status?.lastCheckTime ?? "");
  if (status?.observedGeneration !== repo.metadata.generation || !Number.isFinite(last)) return 0;
  if (status?.phase === "Ready") return last + RECHECK_MS;
  const failures = Math.max(1, status?.failedChecks ?? 1);
  return last + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failures - 1));
}

/**
 * Keeps every BackupRepo's Ready condition true to what a write, read and delete of a small object
 * found, checked where backups will run: an `s3` repository by the operator itself, a `filesystem`
 * repository by a short-lived pod on its node. Failed checks are retried with back-off, Ready
 * repositories re-checked every few minutes, and every spec change checked at once.
 */
export class BackupRepoController {
  readonly controller: Controller;
  private readonly repos: Informer<BackupRepo>;
  private readonly pods: Informer<V1Pod>;

  constructor(
    private readonly ctx: OperatorContext,
    /** Namespace of the operator, where check pods run. */
    private readonly namespace: string,
  ) {
    this.repos = ctx.informers.get<BackupRepo>(API_VERSION, KIND);
    this.pods = ctx.informers.get<V1Pod>("v1", "Pod", { labelSelector: `${labels.managedBy}=tessera` });
    this.controller = new Controller({
      name: "backuprepo",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 2,
      logger: ctx.logger,
    })
      .watches(this.repos)
      .watchesMapped(this.pods, (pod) => {
        const repo = pod.metadata?.annotations?.[REPO_ANNOTATION];
        return repo && pod.metadata?.namespace === this.namespace ? [repo] : [];
      });
  }

  private async reconcile(name: string): Promise<ReconcileResult | void> {
    const repo = this.repos.get(name);
    if (!repo || repo.metadata.deletionTimestamp) return;
    if (!repo.status?.phase) await this.markPending(repo);
    if (repo.spec.kind === "filesystem") return this.reconcileFilesystem(repo);
    const due = nextCheckAt(repo) - Date.now();
    if (due > 0) return { requeueAfterMs: due };
    return this.record(repo, await this.checkS3(repo));
  }

  private async markPending(repo: BackupRepo): Promise<void> {
    const ref = { apiVersion: API_VERSION, kind: KIND, name: repo.metadata.name! };
    await updateStatus<BackupRepo>(this.ctx.client, ref, (current) => {
      if (current.status?.phase) return;
      current.status = {
        ...current.status,
        phase: "Pending",
        conditions: setCondition(current.status?.conditions, {
          type: "Ready",
          status: "Unknown",
          reason: "CheckPending",
          message: "the first write/read/delete check has not finished yet",
        }),
      };
    });
  }

  private async checkS3(repo: BackupRepo): Promise<RepoCheckResult> {
    const s3 = repo.spec.s3;
    if (!s3) return { ok: false, reason: "InvalidSpec", message: "spec.s3 is required for kind s3" };
    const credentials = await this.credentials(repo);
    if ("reason" in credentials) return { ok: false, ...credentials };
    return checkS3Repo(s3, credentials);
  }

  /** The keys from the credentials Secret, or why they cannot be had (never the values). */
  private async credentials(repo: BackupRepo): Promise<S3Credentials | { reason: string; message: string }> {
    const ref = repo.spec.s3!.credentialsSecretRef;
    const where = `secret ${ref.namespace}/${ref.name}`;
    const secret = await this.ctx.client.find<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: ref.namespace,
      name: ref.name,
    });
    if (!secret) return { reason: "CredentialsNotFound", message: `${where} does not exist` };
    const value = (key: string) => {
      const encoded = secret.data?.[key];
      return encoded ? Buffer.from(encoded, "base64").toString("utf8").trim() : undefined;
    };
    const [accessKeyId, secretAccessKey] = S3_CREDENTIAL_KEYS.map(value);
    if (!accessKeyId || !secretAccessKey) {
      return {
        reason: "CredentialsNotFound",
        message: `${where} must hold the keys ${S3_CREDENTIAL_KEYS.join(" and ")}`,
      };
    }
    return { accessKeyId, secretAccessKey };
  }

  /**
   * One check pod per repository at a time: created when a check is due, read once it ends (or is
   * stuck), then deleted. A pod made for an older generation of the spec is replaced.
   */
  private async reconcileFilesystem(repo: BackupRepo): Promise<ReconcileResult | void> {
    const name = checkPodName(repo.metadata.name!);
    const pod = this.pods.get(`${this.namespace}/${name}`);
    const generation = String(repo.metadata.generation ?? 0);
    if (pod && pod.metadata?.annotations?.[GENERATION_ANNOTATION] !== generation) {
      if (!pod.metadata?.deletionTimestamp) await this.deletePod(name);
      return;
    }
    if (pod) {
      if (pod.metadata?.deletionTimestamp) return;
      const outcome = checkPodOutcome(pod, Date.now());
      // Unfinished: its next status change wakes this, or the timeout does.
      if (!outcome) return { requeueAfterMs: FIRST_RETRY_MS };
      const result = await this.record(repo, outcome, pod.spec?.nodeName);
      await this.deletePod(name);
      return result;
    }
    const due = nextCheckAt(repo) - Date.now();
    if (!repo.spec.filesystem) {
      return this.record(repo, {
        ok: false,
        reason: "InvalidSpec",
        message: "spec.filesystem is required for kind filesystem",
      });
    }
    if (due > 0) return { requeueAfterMs: due };
    try {
      await this.ctx.client.create(checkPod(repo, this.namespace, randomUUID()));
    } catch (error) {
      // The informer has not seen the pod made a moment ago; its events bring this back.
      if (!isAlreadyExists(error)) throw error;
    }
  }

  private async deletePod(name: string): Promise<void> {
    try {
      await this.ctx.client.delete({ apiVersion: "v1", kind: "Pod", namespace: this.namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Writes the check's result to status, with an Event when readiness changes; returns when to check next. */
  private async record(repo: BackupRepo, result: RepoCheckResult, node?: string): Promise<ReconcileResult> {
    const wasReady = getCondition(repo.status?.conditions, "Ready");
    const ref = { apiVersion: API_VERSION, kind: KIND, name: repo.metadata.name! };
    const location = backupRepoLocation(repo.spec);
    const updated = await updateStatus<BackupRepo>(this.ctx.client, ref, (current) => {
      const previous: BackupRepoStatus = current.status ?? {};
      current.status = {
        ...previous,
        phase: result.ok ? "Ready" : "Failed",
        observedGeneration: repo.metadata.generation,
        lastCheckTime: rfc3339(),
        checkedLocation: location,
        ...(node ? { checkedNode: node } : {}),
        failedChecks: result.ok ? 0 : (previous.failedChecks ?? 0) + 1,
        conditions: setCondition(
          previous.conditions,
          result.ok
            ? {
                type: "Ready",
                status: true,
                reason: "CheckPassed",
                message: `wrote, read and deleted a test object in ${location}${node ? ` from node ${node}` : ""}`,
              }
            : { type: "Ready", status: false, reason: result.reason, message: result.message },
          repo.metadata.generation,
        ),
      };
    });
    if (!updated) return {};
    const now = getCondition(updated.status?.conditions, "Ready");
    if (now && (now.status !== wasReady?.status || now.reason !== wasReady?.reason)) {
      this.ctx.logger.info(
        { backupRepo: repo.metadata.name, ready: now.status, reason: now.reason, message: now.message },
        "backup repository checked",
      );
      await this.ctx.recorder.record(
        updated,
        result.ok ? "Normal" : "Warning",
        result.ok ? "Ready" : result.reason,
        now.message,
      );
    }
    return { requeueAfterMs: Math.max(1000, nextCheckAt(updated) - Date.now()) };
  }
}
