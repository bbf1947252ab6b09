import { z } from "zod";
import { condition, dnsLabel, objectMeta } from "./common.js";

export const backupRepoKind = z.enum(["filesystem", "s3"]);
export type BackupRepoKind = z.infer<typeof backupRepoKind>;

export const backupRepoPhase = z.enum(["Pending", "Ready", "Failed"]);
export type BackupRepoPhase = z.infer<typeof backupRepoPhase>;

/** Keys the credentials Secret of an s3 repository must hold. */
export const S3_CREDENTIAL_KEYS = ["accessKeyId", "secretAccessKey"] as const;
/** Region used in request signatures when a repository names none. */
export const DEFAULT_S3_REGION = "us-east-1";

export const filesystemRepo = z.object({
  path: z
    .string()
    .min(2)
    .describe(
      "Absolute path of an existing directory on the node, where backups are written. The operator checks it by writing, reading and deleting a small file from a pod on that node.",
    ),
  nodeName: z
    .string()
    .optional()
    .describe(
      "The node holding the directory; backups of every cluster run there. Unset: any node, so the path must be the same storage on every node (a network file system mounted at the same path), or the platform has a single node.",
    ),
});
export type FilesystemRepo = z.infer<typeof filesystemRepo>;

export const secretReference = z.object({
  namespace: dnsLabel.describe("Namespace of the Secret."),
  name: z.string().min(1).describe("Name of the Secret."),
});

export const s3Repo = z.object({
  endpoint: z
    .string()
    .min(1)
    .describe("URL of the S3-compatible service, e.g. `https://s3.example.com` or `http://127.0.0.1:9000`."),
  bucket: z.string().min(1).describe("Bucket holding the backups; it must exist."),
  prefix: z
    .string()
    .optional()
    .describe("Key prefix under which backups are stored (e.g. `prod/db`); unset: the bucket's root."),
  region: z.string().optional().describe(`Region used to sign requests; default \`${DEFAULT_S3_REGION}\`.`),
  forcePathStyle: z
    .boolean()
    .optional()
    .describe(
      "Address the bucket in the URL path (`endpoint/bucket/key`) instead of a host name (`bucket.endpoint`); default true, which is what most self-hosted S3-compatible servers need.",
    ),
  credentialsSecretRef: secretReference.describe(
    "Secret holding the keys `accessKeyId` and `secretAccessKey` of a user allowed to write, read and delete objects in the bucket.",
  ),
});
export type S3Repo = z.infer<typeof s3Repo>;

export const backupRepoSpec = z.object({
  kind: backupRepoKind.describe(
    "`filesystem`: a directory on a node (spec.filesystem); `s3`: a bucket of an S3-compatible object store (spec.s3).",
  ),
  filesystem: filesystemRepo.optional().describe("The directory, for kind `filesystem`."),
  s3: s3Repo.optional().describe("The bucket, for kind `s3`."),
});
export type BackupRepoSpec = z.infer<typeof backupRepoSpec>;

export const backupRepoStatus = z
  .object({
    phase: backupRepoPhase
      .optional()
      .describe(
        "Pending (not checked yet), Ready (its last check passed) or Failed (see the Ready condition).",
      ),
    observedGeneration: z
      .number()
      .int()
      .optional()
      .describe("The metadata.generation its last check used; older than the object's means a check is due."),
    lastCheckTime: z.string().optional().describe("When the last check ended (RFC 3339)."),
    checkedLocation: z
      .string()
      .optional()
      .describe(
        "What the last check wrote to, read from and deleted from, e.g. `s3://bucket/prefix` at an endpoint.",
      ),
    checkedNode: z.string().optional().describe("For kind `filesystem`: the node the last check ran on."),
    failedChecks: z
      .number()
      .int()
      .optional()
      .describe("Checks failed in a row; the next one waits longer after each, up to a minute."),
    conditions: z
      .array(condition)
      .optional()
      .describe(
        "`Ready`: True once a write, read and delete of a small object passed; its message says why not.",
      ),
  })
  .describe("What the operator last found when it checked the repository.");
export type BackupRepoStatus = z.infer<typeof backupRepoStatus>;

export const backupRepo = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("BackupRepo"),
    metadata: objectMeta,
    spec: backupRepoSpec.describe("Where backups are stored."),
    status: backupRepoStatus.optional(),
  })
  .describe(
    "A place where backups are stored: a directory on a node or a bucket of an S3-compatible object store. The operator reports it Ready only after writing, reading and deleting a small object where backups will run, re-checks it every few minutes and after every change.",
  );
export type BackupRepo = z.infer<typeof backupRepo>;

/** Where a repository keeps its data, in one line: `s3://bucket/prefix at endpoint` or `node:/path`. */
export function backupRepoLocation(spec: BackupRepoSpec): string {
  if (spec.kind === "s3" && spec.s3) {
    const prefix = spec.s3.prefix?.replace(/^\/+|\/+$/g, "");
    return `s3://${spec.s3.bucket}${prefix ? `/${prefix}` : ""} at ${spec.s3.endpoint}`;
  }
  if (spec.kind === "filesystem" && spec.filesystem) {
    const node = spec.filesystem.nodeName;
    return `${node ? `${node}:` : ""}${spec.filesystem.path}`;
  }
  return "";
}
