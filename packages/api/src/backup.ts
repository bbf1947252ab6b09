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

// ---------------------------------------------------------------------------
// What an addon declares: how its engine is backed up, restored and archives its logs.

export const restoreScope = z.enum(["FirstInstance", "AllInstances"]);

export const backupMethod = z.object({
  name: dnsLabel.describe("The method's name, as a Backup's spec.method names it, e.g. `basebackup`."),
  description: z.string().min(1).describe("What the method produces, for people choosing one."),
  container: z
    .string()
    .optional()
    .describe(
      "The runtime container whose image, environment and non-data volumes the backup and restore commands use; the first one when unset.",
    ),
  target: z
    .enum(["preferSecondary", "primary", "any"])
    .default("preferSecondary")
    .describe(
      "Which instance is read: preferSecondary (default) a ready instance without the writable role, else the writable one; primary the writable one; any a ready instance.",
    ),
  command: z
    .array(z.string())
    .min(1)
    .describe(
      "Run in a backup pod (not in the instance): reads the target instance over the network (TESSERA_BACKUP_TARGET_POD_FQDN) and writes the backup to stdout, its log to stderr. It may write `key=value` lines (startPosition, endPosition, engineVersion) to the file TESSERA_BACKUP_META names.",
    ),
  restore: z
    .object({
      command: z
        .array(z.string())
        .min(1)
        .describe(
          "Run before the engine starts in a new instance, with the instance's volumes: turns the backup in TESSERA_RESTORE_DIR/backup (see unpack; and archived logs in TESSERA_RESTORE_DIR/logs) into the engine's data. TESSERA_RESTORE_TIME is the point in time to recover to, when asked.",
        ),
      scope: restoreScope
        .default("FirstInstance")
        .describe(
          "FirstInstance (default): only the first instance restores, the others copy from it as new replicas do; AllInstances: every instance restores (engines whose members each need the data).",
        ),
      volume: z.string().min(1).describe("The data volume the restored data goes to."),
      unpack: z
        .enum(["tar"])
        .optional()
        .describe(
          "tar: the backup is one tar archive, unpacked while it downloads: TESSERA_RESTORE_DIR/backup is then a directory on the data volume holding its files, which the restore command moves into place. Unset: TESSERA_RESTORE_DIR/backup is the backup as one file.",
        ),
    })
    .describe("How a new cluster is made from this method's backups."),
  pointInTime: z
    .boolean()
    .optional()
    .describe(
      "true: with the archived logs (spec.backup.logArchive) a restore can stop at any moment after the backup; requires the addon's logArchive.",
    ),
  compresses: z
    .array(z.enum(["zstd"]))
    .optional()
    .describe(
      "Compressions the command can produce itself, asked for through TESSERA_BACKUP_COMPRESSION (unset: write the data as is). The engine's own compression (e.g. on the server's threads, before the network) usually costs less than compressing its output; the stream must then be exactly what the compression's own tool writes (for zstd, zstd frames), and is stored as written.",
    ),
});
export type BackupMethod = z.infer<typeof backupMethod>;

export const componentBackup = z.object({
  methods: z.array(backupMethod).min(1).describe("Backup methods, the default first."),
  logArchive: z
    .object({
      container: z
        .string()
        .optional()
        .describe(
          "The container whose engine archives its logs through the archiver (the first when unset).",
        ),
      description: z.string().min(1).describe("What is archived, e.g. write-ahead log segments."),
    })
    .optional()
    .describe(
      "Continuous log archiving: the engine's archive command copies each finished log file into `$TESSERA_ARCHIVE_DIR/outbox/` and waits for `done/<name>` (archived) or `failed/<name>` (retry later); a sidecar uploads them. Once `$TESSERA_ARCHIVE_DIR/stopped` exists the sidecar has exited (the pod is stopping, after a few idle seconds): the command should fail at once and leave the file for the next run. Enabled per cluster by spec.backup.pointInTime.",
    ),
});
export type ComponentBackup = z.infer<typeof componentBackup>;

// ---------------------------------------------------------------------------
// A cluster's backup settings and its restore source.

export const retention = z.object({
  count: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("Scheduled backups kept: the newest this many Completed ones (default 7)."),
  maxAge: z
    .string()
    .regex(/^\d+[mhd]$/)
    .optional()
    .describe("Scheduled backups older than this are deleted, e.g. `7d`, `12h`, `90m`."),
});

export const backupCompression = z
  .enum(["zstd", "none"])
  .describe(
    "How backups are compressed: `zstd` (level 1 on every core, the default) or `none` (for data that does not compress, or where CPU is scarcer than storage and network). Archived logs are always compressed.",
  );
export type BackupCompression = z.infer<typeof backupCompression>;

export const clusterBackup = z.object({
  repo: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The BackupRepo backups go to. Required, unless the namespace's Tenant has a defaultBackupRepo: then that one is written here when the Cluster is.",
    ),
  method: z
    .string()
    .optional()
    .describe("Backup method of scheduled backups; the addon's default when unset."),
  schedule: z
    .string()
    .optional()
    .describe(
      "When to take a backup, a cron expression in UTC (`minute hour day month weekday`, e.g. `0 3 * * *`); unset: only on demand. A run missed while the operator was down is taken once when it returns.",
    ),
  retention: retention.optional().describe("Which scheduled backups are kept."),
  pointInTime: z
    .boolean()
    .optional()
    .describe(
      "Archive the engine's logs continuously, so the cluster can be restored to any moment after its oldest backup.",
    ),
  encryptionKeySecret: z
    .string()
    .optional()
    .describe(
      "Secret in the cluster's namespace whose key `key` encrypts backups and archived logs (AES-256); restores need the same Secret.",
    ),
  compression: backupCompression.optional(),
});
export type ClusterBackup = z.infer<typeof clusterBackup>;

export const clusterRestore = z.object({
  backup: z.string().min(1).describe("A Completed Backup in the cluster's namespace."),
  pointInTime: z
    .string()
    .datetime({ offset: true })
    .optional()
    .describe(
      "Recover to this moment (RFC 3339) instead of the end of the backup; must lie in the source cluster's recoverable range.",
    ),
});
export type ClusterRestore = z.infer<typeof clusterRestore>;

export const recoverableRange = z.object({
  from: z.string().optional().describe("Earliest moment a restore can reach (the end of the oldest backup)."),
  to: z
    .string()
    .optional()
    .describe(
      "Latest moment: the last archived log with point-in-time recovery, else the newest backup's end.",
    ),
});

export const clusterBackupStatus = z.object({
  lastBackup: z.string().optional().describe("The newest Backup of the cluster."),
  lastBackupPhase: z.string().optional().describe("Its phase."),
  lastCompletedTime: z.string().optional().describe("When the newest Completed backup ended."),
  lastScheduleTime: z.string().optional().describe("The scheduled time of the last scheduled run."),
  nextScheduleTime: z.string().optional().describe("When the next scheduled backup starts."),
  recoverableRange: recoverableRange.optional().describe("The moments a restore of this cluster can reach."),
  logArchive: z
    .object({
      lastArchived: z.string().optional().describe("The last log file archived."),
      lastArchivedTime: z.string().optional().describe("When it was archived."),
      lastError: z.string().optional().describe("The last archiving error."),
    })
    .optional()
    .describe("What the log archiver of the writable instance last reported."),
});

// ---------------------------------------------------------------------------
// Backup: one backup of a cluster.

export const backupPhase = z.enum(["Pending", "Running", "Completed", "Failed", "Deleting"]);
export type BackupPhase = z.infer<typeof backupPhase>;

export const backupSpec = z.object({
  clusterName: dnsLabel.describe("The Cluster to back up, in the Backup's namespace. Immutable."),
  componentName: z
    .string()
    .optional()
    .describe(
      "The component to back up; the first component whose addon declares backup methods when unset.",
    ),
  method: z.string().optional().describe("The addon's backup method; its default when unset."),
  policy: z
    .string()
    .optional()
    .describe(
      "A BackupPolicy of the same cluster, whose component, method, repository and encryption key apply where this Backup sets none. Immutable.",
    ),
  repo: z
    .string()
    .optional()
    .describe("The BackupRepo; when unset, the policy's, else the cluster's spec.backup.repo."),
  deletionPolicy: z
    .enum(["Delete", "Retain"])
    .default("Delete")
    .describe("Delete (default): deleting the Backup removes its data from the repository; Retain keeps it."),
  timeoutSeconds: z
    .number()
    .int()
    .min(30)
    .optional()
    .describe("A backup still running after this long fails and its partial data is removed (default 3600)."),
});
export type BackupSpec = z.infer<typeof backupSpec>;

export const backupStatus = z.object({
  phase: backupPhase.optional().describe("Pending, Running, Completed, Failed or Deleting."),
  message: z.string().optional().describe("Why it is in its phase; for Failed, the error's last lines."),
  reason: z.string().optional().describe("A CamelCase reason for Failed."),
  component: z.string().optional().describe("The component backed up."),
  method: z.string().optional().describe("The method used."),
  repo: z.string().optional().describe("The repository used."),
  location: z.string().optional().describe("Where the repository is, in one line."),
  path: z.string().optional().describe("Key of the backup's data in the repository."),
  logsPath: z
    .string()
    .optional()
    .describe("Key prefix of the cluster's archived logs, for point-in-time recovery."),
  pointInTime: z
    .boolean()
    .optional()
    .describe("Whether logs were being archived, so a restore can go past the end."),
  encrypted: z.boolean().optional().describe("Whether the data is encrypted."),
  encryptionKeySecret: z.string().optional().describe("The Secret whose key encrypted it."),
  compression: backupCompression.optional().describe("How the data is compressed (`zstd` when unset)."),
  targetPod: z.string().optional().describe("The instance read."),
  backupPod: z.string().optional().describe("The pod that ran the backup."),
  sizeBytes: z.number().int().optional().describe("Bytes stored (compressed)."),
  sourceBytes: z.number().int().optional().describe("Bytes the engine produced."),
  sha256: z.string().optional().describe("SHA-256 of the stored bytes, verified on restore."),
  startTime: z.string().optional().describe("When the backup started."),
  completionTime: z.string().optional().describe("When it completed or failed."),
  durationSeconds: z.number().optional().describe("How long it took."),
  startPosition: z.string().optional().describe("Engine position where the backup starts (e.g. an LSN)."),
  endPosition: z.string().optional().describe("Engine position where it ends."),
  engineVersion: z.string().optional().describe("Version of the engine that produced it."),
  serviceVersion: z.string().optional().describe("The component's serviceVersion when it was taken."),
  compDef: z.string().optional().describe("The ComponentDefinition of the component."),
  sourceClusterUID: z.string().optional().describe("UID of the cluster backed up."),
  scheduled: z.boolean().optional().describe("Whether the schedule created it."),
});
export type BackupStatus = z.infer<typeof backupStatus>;

export const backup = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("Backup"),
    metadata: objectMeta,
    spec: backupSpec.describe("What to back up and where."),
    status: backupStatus.optional().describe("What the operator observed; written by the operator only."),
  })
  .describe(
    "One backup of a cluster's component, streamed compressed to a BackupRepo by a pod running the addon's backup method. It is Completed only once all its data is stored and checksummed.",
  );
export type Backup = z.infer<typeof backup>;

// ---------------------------------------------------------------------------
// BackupPolicy: where and how a cluster's backups are made and how long they are kept;
// BackupSchedule: when.

export const backupPolicySpec = z.object({
  clusterName: dnsLabel.describe(
    "The Cluster whose backups the policy governs, in its namespace. Immutable.",
  ),
  componentName: z
    .string()
    .optional()
    .describe("The component backed up; the first component whose addon declares backup methods when unset."),
  repo: z.string().min(1).describe("The BackupRepo backups go to."),
  method: z
    .string()
    .optional()
    .describe(
      "The addon's backup method, where a Backup or schedule names none; the addon's default when unset.",
    ),
  encryptionKeySecret: z
    .string()
    .optional()
    .describe(
      "Secret in the namespace whose key `key` encrypts the backups (AES-256); restores need the same Secret.",
    ),
  compression: backupCompression.optional(),
  retention: retention
    .optional()
    .describe(
      "Which of the backups its schedules took are kept; backups taken on demand are kept until deleted.",
    ),
});
export type BackupPolicySpec = z.infer<typeof backupPolicySpec>;

export const backupPolicy = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("BackupPolicy"),
    metadata: objectMeta,
    spec: backupPolicySpec.describe(
      "Where and how the cluster's backups are made, and how long they are kept.",
    ),
  })
  .describe(
    "Where and how a cluster's backups are made and how long scheduled ones are kept. A Cluster's spec.backup keeps one named after the cluster; more can be made by hand, e.g. one per repository.",
  );
export type BackupPolicy = z.infer<typeof backupPolicy>;

export const backupScheduleSpec = z.object({
  policy: dnsLabel.describe("The BackupPolicy, in the same namespace, whose backups this schedule takes."),
  schedule: z
    .string()
    .min(1)
    .describe(
      "A cron expression in UTC (`minute hour day month weekday`, optionally with a leading seconds field). A run missed while the operator was down is taken once when it returns.",
    ),
  method: z.string().optional().describe("The backup method; the policy's when unset."),
  suspend: z
    .boolean()
    .optional()
    .describe("true: no run is started until it is false again; runs missed meanwhile are not taken."),
});
export type BackupScheduleSpec = z.infer<typeof backupScheduleSpec>;

export const backupSchedule = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("BackupSchedule"),
    metadata: objectMeta,
    spec: backupScheduleSpec.describe("Which policy's backups are taken, and when."),
    status: z
      .object({
        clusterName: z.string().optional().describe("The cluster its policy backs up."),
        lastScheduleTime: z
          .string()
          .optional()
          .describe(
            "The scheduled time of the last run taken (or when the schedule was resumed): runs are counted from it.",
          ),
        nextScheduleTime: z.string().optional().describe("When the next run starts."),
        lastBackup: z.string().optional().describe("The Backup its last run created."),
        conditions: z
          .array(condition)
          .optional()
          .describe("`Ready`: runs are taken; False with the reason (policy or cluster missing, suspended)."),
      })
      .optional()
      .describe("What the operator last did with the schedule; written by the operator only."),
  })
  .describe(
    "Takes a policy's backups on a cron schedule in UTC, run by the operator, and deletes those past the policy's retention. A Cluster's spec.backup.schedule keeps one named after the cluster.",
  );
export type BackupSchedule = z.infer<typeof backupSchedule>;

// ---------------------------------------------------------------------------
// What the Cluster controller resolves for a Component.

export const componentRestore = z.object({
  backup: z.string().describe("The Backup restored."),
  method: z.string().describe("Its method."),
  repo: z.string().describe("Its repository."),
  path: z.string().describe("Key of its data."),
  sha256: z.string().optional().describe("Its checksum."),
  logsPath: z.string().optional().describe("Key prefix of the archived logs to recover with."),
  logsFrom: z.string().optional().describe("Logs archived before this are not needed."),
  pointInTime: z.string().optional().describe("The moment to recover to."),
  encryptionKeySecret: z.string().optional().describe("Secret holding the encryption key."),
  compression: backupCompression.optional().describe("How its data is compressed (`zstd` when unset)."),
});
export type ComponentRestore = z.infer<typeof componentRestore>;

export const componentLogArchive = z.object({
  repo: z.string().describe("The repository."),
  path: z.string().describe("Key prefix of the archived logs."),
  encryptionKeySecret: z.string().optional().describe("Secret holding the encryption key."),
});
export type ComponentLogArchive = z.infer<typeof componentLogArchive>;
