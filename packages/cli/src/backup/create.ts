import { API_VERSION, labels, type Backup } from "@tessera/api";
import { ApiError, isAlreadyExists, StopWaiting, WaitTimeoutError, waitFor } from "@tessera/kube";
import { checkClusterName } from "../cluster/common.js";
import { UsageError } from "../errors.js";
import { notInstalled } from "../not-installed.js";
import type { OutputFormat } from "../options.js";
import { bytes, duration, print, serialize, withoutManagedFields } from "../output.js";
import type { KubeConnection, Session } from "../session.js";
import { Spinner } from "../spinner.js";
import { backupRef, backupState } from "./common.js";

export interface CreateBackupOptions {
  name?: string;
  method?: string;
  repo?: string;
  namespace?: string;
  wait?: boolean;
  timeout: number;
  output: OutputFormat;
}

/** The backup's pods are named `<backup>-backup` and `<backup>-cleanup`, which must stay valid names. */
const MAX_NAME = 253 - "-cleanup".length;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** `<cluster>-<yyyymmddhhmmss>` in UTC: unique per second, sorting by time. */
export function defaultBackupName(cluster: string, now: Date): string {
  return `${cluster}-${now.toISOString().replace(/[-:T]|\.\d{3}Z$/g, "")}`;
}

/** The Backup the arguments describe; names are checked before asking the apiserver. */
export function backupManifest(
  cluster: string,
  namespace: string,
  options: Pick<CreateBackupOptions, "name" | "method" | "repo">,
  now: Date,
): Backup {
  checkClusterName(cluster);
  const name = options.name ?? defaultBackupName(cluster, now);
  if (!SUBDOMAIN.test(name) || name.length > MAX_NAME) {
    throw new UsageError(
      `--name ${name}: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, at most ${MAX_NAME} characters`,
    );
  }
  for (const [flag, value] of [
    ["--method", options.method],
    ["--repo", options.repo],
  ] as const) {
    if (value !== undefined && !value.trim()) throw new UsageError(`${flag}: empty`);
  }
  return {
    apiVersion: API_VERSION,
    kind: "Backup",
    metadata: { name, namespace, labels: { [labels.cluster]: cluster } },
    spec: {
      clusterName: cluster,
      ...(options.method ? { method: options.method } : {}),
      ...(options.repo ? { repo: options.repo } : {}),
      deletionPolicy: "Delete",
    },
  };
}

/** One line for a Completed backup: size, duration and where its data is. */
export function completedSummary(backup: Backup): string {
  const status = backup.status ?? {};
  const size = status.sizeBytes === undefined ? "size unknown" : bytes(status.sizeBytes);
  const took = status.durationSeconds === undefined ? "" : ` in ${duration(status.durationSeconds * 1000)}`;
  const where = status.path ? `${status.path} in ${status.repo ?? "its repository"}` : (status.repo ?? "-");
  return `${size}${took}, stored at ${where}${status.location ? ` (${status.location})` : ""}`;
}

export async function createBackup(
  session: Session,
  cluster: string,
  options: CreateBackupOptions,
): Promise<void> {
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const manifest = backupManifest(cluster, namespace, options, new Date());
  const name = manifest.metadata.name!;
  const created = await submitBackup(conn, manifest);
  if (options.output !== "table") print(serialize(withoutManagedFields(created), options.output));
  else {
    const how = [
      `method ${options.method ?? "the cluster's default"}`,
      `repository ${options.repo ?? "the cluster's spec.backup.repo"}`,
    ];
    print(`backup ${namespace}/${name} of cluster ${cluster} created (${how.join(", ")})`);
  }
  if (!options.wait) {
    if (options.output === "table")
      print(`follow it with \`tessera backup describe ${name} -n ${namespace}\``);
    return;
  }
  const done = await Spinner.run(session.style, `backing up ${cluster}`, (spinner) =>
    waitUntilDone(conn, namespace, name, options.timeout, spinner),
  );
  if (done.status?.phase === "Failed") {
    throw new Error(
      `backup ${namespace}/${name} failed: ${backupState(done)}: ${done.status.message ?? "no message"}`,
    );
  }
  if (options.output === "table") print(`completed: ${completedSummary(done)}`);
}

async function submitBackup(conn: KubeConnection, backup: Backup): Promise<Backup> {
  const { name, namespace } = backup.metadata;
  try {
    return await conn.client.create(backup);
  } catch (error) {
    if (isAlreadyExists(error)) {
      throw new Error(
        `backup "${name}" already exists in namespace ${namespace}; pick another --name or see it with \`tessera backup describe ${name} -n ${namespace}\``,
      );
    }
    if (error instanceof ApiError && error.statusCode === 404) {
      if (/namespaces? .*not found/.test(error.message))
        throw new Error(`namespace "${namespace}" not found`);
      throw notInstalled(conn.server);
    }
    if (error instanceof ApiError && [403, 422].includes(error.statusCode)) {
      throw new Error(`backup ${name} was refused: ${error.message}`);
    }
    throw error;
  }
}

/** Waits until the backup is Completed or Failed, showing its phase and message on the spinner. */
async function waitUntilDone(
  conn: KubeConnection,
  namespace: string,
  name: string,
  timeoutMs: number,
  spinner: Spinner,
): Promise<Backup> {
  let last = "Pending";
  try {
    return await waitFor(
      async () => {
        const backup = await conn.client.find<Backup>(backupRef(namespace, name));
        if (!backup)
          throw new StopWaiting(new Error(`backup ${namespace}/${name} was deleted while waiting`));
        const message = backup.status?.message?.split("\n")[0];
        spinner.detail = last = message ? `${backupState(backup)}: ${message}` : backupState(backup);
        const phase = backup.status?.phase;
        return phase === "Completed" || phase === "Failed" ? backup : undefined;
      },
      { description: `backup ${namespace}/${name} to finish`, timeoutMs, intervalMs: 1000 },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw new Error(
      `backup ${namespace}/${name} has not finished after ${duration(timeoutMs)} (${last}); it goes on: see \`tessera backup describe ${name} -n ${namespace}\``,
    );
  }
}
