import type { V1Container, V1Pod, V1PodSpec, V1Volume } from "@kubernetes/client-node";
import { API_VERSION, labels, type Backup, type BackupCompression, type BackupMethod } from "@tessera/api";
import { TOOLS_IMAGE, repoUser, type RepoAccess } from "./repo-access.js";

/** On pods the backup machinery creates: the Backup they work for. */
export const BACKUP_ANNOTATION = "tessera.dev/backup";
/** What the pod does for it: take the backup, or delete its data. */
export const PURPOSE_ANNOTATION = "tessera.dev/backup-purpose";
export type PodPurpose = "backup" | "delete";

const WORK_DIR = "/tessera/backup";
const WORK_VOLUME = "tessera-backup";
const FIFO = `${WORK_DIR}/data`;
const META = `${WORK_DIR}/meta`;
const STATUS = `${WORK_DIR}/status`;

export function backupPodName(backup: string, purpose: PodPurpose): string {
  return `${backup}-${purpose === "backup" ? "backup" : "cleanup"}`;
}

/**
 * Whichever of the two containers starts first makes the FIFO (the pod's volume is new: nothing of
 * an earlier run is in it); the other finds it there. They may run as different users (the
 * uploader as root for a node's directory): both must be able to open it.
 */
const MAKE_FIFO = `mkfifo -m 0666 "${FIFO}" 2>/dev/null || [ -p "${FIFO}" ] || exit 1`;

/**
 * Runs the addon's command with stdout on the FIFO the uploader reads, then records the command's
 * exit status, so the uploader stores the stream only for a command that succeeded. Opening the
 * FIFO blocks until the uploader has it open too.
 */
const WRITER = `${MAKE_FIFO}
exec 3>"${FIFO}"
"$@" >&3
code=$?
exec 3>&-
echo "$code" >"${STATUS}"
exit "$code"`;

/**
 * The template's volumes a backup pod can use: everything but data volumes (claims stay with their
 * instance) and those it brings itself (the repository's).
 */
function portableVolumes(template: V1PodSpec, dataVolumes: Set<string>, own: V1Volume[]): V1Volume[] {
  const owned = new Set(own.map((v) => v.name));
  return (template.volumes ?? []).filter(
    (v) => !dataVolumes.has(v.name) && !owned.has(v.name) && !v.persistentVolumeClaim,
  );
}

function metadata(backup: Backup, purpose: PodPurpose) {
  return {
    name: backupPodName(backup.metadata.name!, purpose),
    namespace: backup.metadata.namespace,
    labels: { [labels.managedBy]: "tessera", [labels.cluster]: backup.spec.clusterName },
    annotations: { [BACKUP_ANNOTATION]: backup.metadata.name!, [PURPOSE_ANNOTATION]: purpose },
    ownerReferences: [
      {
        apiVersion: API_VERSION,
        kind: "Backup",
        name: backup.metadata.name!,
        uid: backup.metadata.uid!,
        controller: true,
      },
    ],
  };
}

export interface BackupPodInput {
  backup: Backup;
  method: BackupMethod;
  /** The instances' rendered pod spec: the backup runs with the engine's image, environment and scripts. */
  template: V1PodSpec;
  dataVolumes: Set<string>;
  targetPod: string;
  targetFQDN: string;
  key: string;
  access: RepoAccess;
  /** zstd when unset. */
  compression?: BackupCompression;
}

/**
 * A pod of two containers joined by a FIFO: the engine's image runs the addon's backup command,
 * which reads the target instance over the network, and tessera-repo streams what it writes to
 * the repository. Nothing is kept on the node. Where the method compresses as asked itself, its
 * stream is stored as written.
 */
export function backupPod(input: BackupPodInput): V1Pod {
  const { template, method } = input;
  const engine = template.containers.find((c) => c.name === method.container) ?? template.containers[0]!;
  const volumes = portableVolumes(template, input.dataVolumes, input.access.volumes);
  const volumeNames = new Set(volumes.map((v) => v.name));
  const work = { name: WORK_VOLUME, mountPath: WORK_DIR };
  const compression = input.compression ?? "zstd";
  const engineCompresses = compression !== "none" && (method.compresses ?? []).includes(compression);
  const backupContainer: V1Container = {
    name: "backup",
    image: engine.image,
    command: ["sh", "-c", WRITER, "tessera-backup", ...method.command],
    env: [
      ...(engine.env ?? []),
      { name: "TESSERA_BACKUP_NAME", value: input.backup.metadata.name! },
      { name: "TESSERA_BACKUP_TARGET_POD_NAME", value: input.targetPod },
      { name: "TESSERA_BACKUP_TARGET_POD_FQDN", value: input.targetFQDN },
      { name: "TESSERA_BACKUP_META", value: META },
      { name: "TESSERA_BACKUP_WORK_DIR", value: WORK_DIR },
      ...(engineCompresses ? [{ name: "TESSERA_BACKUP_COMPRESSION", value: compression }] : []),
    ],
    envFrom: engine.envFrom,
    volumeMounts: [...(engine.volumeMounts ?? []).filter((m) => volumeNames.has(m.name)), work],
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
  const upload: V1Container = {
    name: "upload",
    image: TOOLS_IMAGE,
    command: ["sh", "-c", `${MAKE_FIFO}\nexec tessera-repo "$@"`, "tessera-repo"],
    args: [
      "put",
      input.key,
      "--input",
      FIFO,
      "--meta",
      META,
      "--writer-status",
      STATUS,
      "--compression",
      compression,
      ...(engineCompresses ? ["--compressed"] : []),
    ],
    env: input.access.env,
    volumeMounts: [...input.access.mounts, work],
    terminationMessagePolicy: "FallbackToLogsOnError",
    ...(repoUser(input.access) ? { securityContext: repoUser(input.access) } : {}),
  };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: metadata(input.backup, "backup"),
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      ...(input.access.nodeName ? { nodeName: input.access.nodeName } : {}),
      ...(template.securityContext ? { securityContext: template.securityContext } : {}),
      containers: [backupContainer, upload],
      volumes: [...volumes, { name: WORK_VOLUME, emptyDir: {} }, ...input.access.volumes],
    },
  };
}

/** A pod that deletes a backup's data from the repository (where the repository is reachable: its node). */
export function deletePod(backup: Backup, prefix: string, access: RepoAccess): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: metadata(backup, "delete"),
    spec: {
      restartPolicy: "Never",
      automountServiceAccountToken: false,
      ...(access.nodeName ? { nodeName: access.nodeName } : {}),
      containers: [
        {
          name: "delete",
          image: TOOLS_IMAGE,
          command: ["tessera-repo"],
          args: ["delete", prefix],
          env: access.env,
          volumeMounts: access.mounts,
          terminationMessagePolicy: "FallbackToLogsOnError",
        },
      ],
      volumes: access.volumes,
    },
  };
}
