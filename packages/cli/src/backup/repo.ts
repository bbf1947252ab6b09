import { API_VERSION, backupRepoLocation, type BackupRepo, type BackupRepoSpec } from "@tessera/api";
import { ApiError, StopWaiting, waitFor } from "@tessera/kube";
import { UsageError } from "../errors.js";
import { notInstalled } from "../not-installed.js";
import type { OutputFormat } from "../options.js";
import { age, print, serialize, table, withoutManagedFields } from "../output.js";
import type { Session } from "../session.js";
import { Spinner } from "../spinner.js";

export interface CreateRepoOptions {
  filesystem?: string;
  node?: string;
  s3Endpoint?: string;
  bucket?: string;
  prefix?: string;
  region?: string;
  credentialsSecret?: string;
  wait?: boolean;
  timeout: number;
  output: OutputFormat;
}

export interface ListReposOptions {
  output: OutputFormat;
}

const ref = (name: string) => ({ apiVersion: API_VERSION, kind: "BackupRepo", name });

/** The spec the flags describe; refuses a mix of both kinds or a missing flag before asking the apiserver. */
export function repoSpec(options: CreateRepoOptions): BackupRepoSpec {
  const s3Flags = [
    options.s3Endpoint,
    options.bucket,
    options.prefix,
    options.region,
    options.credentialsSecret,
  ];
  if (options.filesystem !== undefined) {
    if (s3Flags.some((flag) => flag !== undefined)) {
      throw new UsageError(
        "--filesystem cannot be combined with --s3-endpoint, --bucket, --prefix, --region or --credentials-secret",
      );
    }
    return {
      kind: "filesystem",
      filesystem: { path: options.filesystem, ...(options.node ? { nodeName: options.node } : {}) },
    };
  }
  if (options.s3Endpoint === undefined) {
    throw new UsageError(
      "say where backups go: --filesystem PATH, or --s3-endpoint URL --bucket NAME --credentials-secret NAMESPACE/NAME",
    );
  }
  if (options.node !== undefined) throw new UsageError("--node is for --filesystem repositories");
  if (!options.bucket) throw new UsageError("--s3-endpoint needs --bucket NAME");
  const secret = /^([a-z0-9-]+)\/([^/\s]+)$/.exec(options.credentialsSecret ?? "");
  if (!secret) {
    throw new UsageError(
      "--s3-endpoint needs --credentials-secret NAMESPACE/NAME: a Secret with the keys accessKeyId and secretAccessKey",
    );
  }
  return {
    kind: "s3",
    s3: {
      endpoint: options.s3Endpoint,
      bucket: options.bucket,
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.region ? { region: options.region } : {}),
      credentialsSecretRef: { namespace: secret[1]!, name: secret[2]! },
    },
  };
}

export async function createRepo(session: Session, name: string, options: CreateRepoOptions): Promise<void> {
  const spec = repoSpec(options);
  const conn = await session.kube();
  let created: BackupRepo;
  try {
    created = await conn.client.create<BackupRepo>({
      apiVersion: API_VERSION,
      kind: "BackupRepo",
      metadata: { name },
      spec,
    });
  } catch (error) {
    if (error instanceof ApiError && error.statusCode === 404) throw notInstalled(conn.server);
    if (error instanceof ApiError && [403, 409, 422].includes(error.statusCode)) {
      throw new Error(`backup repository ${name} was refused: ${error.message}`);
    }
    throw error;
  }
  if (options.output !== "table") print(serialize(withoutManagedFields(created), options.output));
  else print(`BackupRepo ${name} created: ${backupRepoLocation(spec)}`);
  if (!options.wait) {
    if (options.output === "table") print("see whether it is ready with `tessera backuprepo list`");
    return;
  }
  const checked = await Spinner.run(session.style, `checking ${name}`, () =>
    waitFor(
      async () => {
        const repo = await conn.client.find<BackupRepo>(ref(name));
        if (!repo) throw new StopWaiting(new Error(`backup repository ${name} was deleted`));
        const current = repo.status?.observedGeneration === repo.metadata.generation;
        return current && (repo.status?.phase === "Ready" || repo.status?.phase === "Failed")
          ? repo
          : undefined;
      },
      { description: `backup repository ${name} to be checked`, timeoutMs: options.timeout, intervalMs: 500 },
    ),
  );
  const ready = readyCondition(checked);
  if (checked.status?.phase !== "Ready")
    throw new Error(`backup repository ${name} is not ready: ${ready?.message}`);
  if (options.output === "table") print(`ready: ${ready?.message ?? ""}`);
}

function readyCondition(repo: BackupRepo) {
  return repo.status?.conditions?.find((c) => c.type === "Ready");
}

export async function listRepos(session: Session, options: ListReposOptions): Promise<void> {
  const conn = await session.kube();
  const list = await conn.client.list<BackupRepo>(API_VERSION, "BackupRepo").catch((error: unknown) => {
    if (error instanceof ApiError && error.statusCode === 404) throw notInstalled(conn.server);
    throw error;
  });
  const repos = list.items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  if (options.output !== "table") {
    print(serialize(repos.map(withoutManagedFields), options.output));
    return;
  }
  if (repos.length === 0) {
    process.stderr.write(
      "no backup repositories; create one with `tessera backuprepo create NAME --filesystem PATH` or `--s3-endpoint URL ...`\n",
    );
    return;
  }
  const style = session.style;
  const rows = repos.map((repo) => {
    const ready = readyCondition(repo);
    const status = ready?.status ?? "Unknown";
    return [
      repo.metadata.name!,
      repo.spec.kind,
      backupRepoLocation(repo.spec),
      style.state(status, status === "True" ? "good" : status === "False" ? "bad" : "pending"),
      age(repo.metadata.creationTimestamp),
      ready?.message ?? "",
    ];
  });
  print(table(style, ["name", "kind", "where", "ready", "age", "message"], rows));
}
