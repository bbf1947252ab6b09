/**
 * Where a repository is and how to reach it, from the environment the operator gives the
 * container. Credentials come from a Secret through the environment and are never printed.
 */
export type RepoConfig =
  | { kind: "filesystem"; root: string; base: string }
  | {
      kind: "s3";
      endpoint: string;
      bucket: string;
      prefix: string;
      region: string;
      forcePathStyle: boolean;
      accessKeyId: string;
      secretAccessKey: string;
      base: string;
    };

export const ENV = {
  kind: "TESSERA_REPO_KIND",
  path: "TESSERA_REPO_PATH",
  endpoint: "TESSERA_REPO_S3_ENDPOINT",
  bucket: "TESSERA_REPO_S3_BUCKET",
  prefix: "TESSERA_REPO_S3_PREFIX",
  region: "TESSERA_REPO_S3_REGION",
  forcePathStyle: "TESSERA_REPO_S3_FORCE_PATH_STYLE",
  accessKeyId: "TESSERA_REPO_S3_ACCESS_KEY_ID",
  secretAccessKey: "TESSERA_REPO_S3_SECRET_ACCESS_KEY",
  base: "TESSERA_REPO_BASE",
  encryptionKey: "TESSERA_REPO_ENCRYPTION_KEY",
  /** "true" once a restored component has run: instances created after it start empty. */
  restoreComplete: "TESSERA_RESTORE_COMPLETE",
} as const;

export function repoConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RepoConfig {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const base = trimSlashes(env[ENV.base] ?? "");
  const kind = need(ENV.kind);
  if (kind === "filesystem") return { kind, root: need(ENV.path), base };
  if (kind === "s3") {
    return {
      kind,
      endpoint: need(ENV.endpoint),
      bucket: need(ENV.bucket),
      prefix: trimSlashes(env[ENV.prefix] ?? ""),
      region: env[ENV.region] || "us-east-1",
      forcePathStyle: env[ENV.forcePathStyle] !== "false",
      accessKeyId: need(ENV.accessKeyId),
      secretAccessKey: need(ENV.secretAccessKey),
      base,
    };
  }
  throw new Error(`${ENV.kind} must be filesystem or s3, not ${JSON.stringify(kind)}`);
}

export function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, "");
}

/** Joins key parts, ignoring empty ones. */
export function joinKey(...parts: string[]): string {
  return parts.map(trimSlashes).filter(Boolean).join("/");
}
