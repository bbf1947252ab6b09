import type { V1Container, V1PodSpec } from "@kubernetes/client-node";
import type { BackupMethod, ComponentLogArchive, ComponentRestore } from "@tessera/api";
import { REPO_ENV } from "@tessera/repo-tool";
import { TOOLS_IMAGE, repoUser, type RepoAccess } from "./repo-access.js";

/** The archiver's status port, named after it; the operator reads the writable instance's. */
export const ARCHIVER_PORT_NAME = "tessera-archive";
export const ARCHIVER_PORT = 9902;
export const ARCHIVER_CONTAINER = "tessera-archiver";
const ARCHIVE_DIR = "/tessera/archive";
const ARCHIVE_VOLUME = "tessera-archive";
/** Where the restore fetch sees the data volume. */
const DATA_MOUNT = "/tessera/data";
const STAGING = ".tessera-restore";
/** On the data volume once the restore command succeeded: a restarted instance never restores again. */
const RESTORED = ".tessera-restored";

export interface InstanceDataProtection {
  restore?: { spec: ComponentRestore; method: BackupMethod; access: RepoAccess };
  logArchive?: { spec: ComponentLogArchive; container?: string; access: RepoAccess };
}

function engineContainer(spec: V1PodSpec, name: string | undefined): V1Container {
  return spec.containers.find((c) => c.name === name) ?? spec.containers[0]!;
}

/**
 * Two init containers before the engine of a restored instance: tessera-repo fetches the backup
 * (checksum verified) and the archived logs a point-in-time recovery needs onto the data volume,
 * then the addon's restore command turns them into the engine's data. Both skip once the volume
 * says it was restored.
 */
function withRestore(spec: V1PodSpec, restore: NonNullable<InstanceDataProtection["restore"]>): V1PodSpec {
  const { method, access } = restore;
  const volume = method.restore.volume;
  const engine = engineContainer(spec, method.container);
  const mountPath = engine.volumeMounts?.find((m) => m.name === volume)?.mountPath ?? DATA_MOUNT;
  const r = restore.spec;
  const uid = engine.securityContext?.runAsUser ?? spec.securityContext?.runAsUser;
  const gid = engine.securityContext?.runAsGroup ?? spec.securityContext?.runAsGroup ?? uid;
  const fetch: V1Container = {
    name: "tessera-restore-fetch",
    image: TOOLS_IMAGE,
    command: ["tessera-repo"],
    args: [
      "fetch",
      "--backup",
      r.path,
      "--out",
      `${DATA_MOUNT}/${STAGING}`,
      "--unless-exists",
      `${DATA_MOUNT}/${RESTORED}`,
      ...(r.sha256 ? ["--sha256", r.sha256] : []),
      ...(r.compression ? ["--compression", r.compression] : []),
      ...(method.restore.unpack ? ["--unpack", method.restore.unpack] : []),
      ...(r.pointInTime && r.logsPath ? ["--logs", r.logsPath, "--until", r.pointInTime] : []),
      ...(r.pointInTime && r.logsFrom ? ["--logs-from", r.logsFrom] : []),
      ...(method.restore.scope === "FirstInstance" ? ["--first-instance-only"] : []),
      ...(uid !== undefined ? ["--owner", `${uid}:${gid}`] : []),
    ],
    env: [
      ...access.env,
      { name: "TESSERA_POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    ],
    volumeMounts: [{ name: volume, mountPath: DATA_MOUNT }, ...access.mounts],
    terminationMessagePolicy: "FallbackToLogsOnError",
    ...(repoUser(access) ? { securityContext: repoUser(access) } : {}),
  };
  const marker = `${mountPath}/${RESTORED}`;
  const apply: V1Container = {
    name: "tessera-restore",
    image: engine.image,
    command: [
      "sh",
      "-c",
      `if [ -e "${marker}" ] || [ "$${REPO_ENV.restoreComplete}" = true ]; then exit 0; fi; "$@" && touch "${marker}"`,
      "tessera-restore",
      ...method.restore.command,
    ],
    env: [
      ...(engine.env ?? []),
      { name: "TESSERA_RESTORE_DIR", value: `${mountPath}/${STAGING}` },
      { name: "TESSERA_RESTORE_BACKUP", value: r.backup },
      ...(r.pointInTime ? [{ name: "TESSERA_RESTORE_TIME", value: r.pointInTime }] : []),
    ],
    envFrom: engine.envFrom,
    volumeMounts: engine.volumeMounts,
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
  return { ...spec, initContainers: [...(spec.initContainers ?? []), fetch, apply] };
}

/**
 * The archiver sidecar next to the engine: they share a directory, through which the engine's
 * archive command hands over each finished log file and learns when it is stored.
 */
function withLogArchive(
  spec: V1PodSpec,
  archive: NonNullable<InstanceDataProtection["logArchive"]>,
): V1PodSpec {
  const engine = engineContainer(spec, archive.container);
  const mount = { name: ARCHIVE_VOLUME, mountPath: ARCHIVE_DIR };
  const archiver: V1Container = {
    name: ARCHIVER_CONTAINER,
    image: TOOLS_IMAGE,
    command: ["tessera-repo"],
    args: [
      "archive",
      "--dir",
      ARCHIVE_DIR,
      "--prefix",
      archive.spec.path,
      "--listen",
      `$(TESSERA_POD_IP):${ARCHIVER_PORT}`,
    ],
    env: [
      { name: "TESSERA_POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      ...archive.access.env,
    ],
    ports: [{ name: ARCHIVER_PORT_NAME, containerPort: ARCHIVER_PORT }],
    resources: { requests: { cpu: "10m", memory: "64Mi" }, limits: { memory: "256Mi" } },
    volumeMounts: [mount, ...archive.access.mounts],
    ...(repoUser(archive.access) ? { securityContext: repoUser(archive.access) } : {}),
  };
  return {
    ...spec,
    containers: [
      ...spec.containers.map((c) =>
        c !== engine
          ? c
          : {
              ...c,
              env: [...(c.env ?? []), { name: "TESSERA_ARCHIVE_DIR", value: ARCHIVE_DIR }],
              volumeMounts: [...(c.volumeMounts ?? []), mount],
            },
      ),
      archiver,
    ],
    volumes: [...(spec.volumes ?? []), { name: ARCHIVE_VOLUME, emptyDir: {} }],
  };
}

function withRepoVolumes(spec: V1PodSpec, access: RepoAccess[]): V1PodSpec {
  const present = new Set((spec.volumes ?? []).map((v) => v.name));
  const volumes = access.flatMap((a) => a.volumes).filter((v) => !present.has(v.name) && present.add(v.name));
  const nodeName = access.find((a) => a.nodeName)?.nodeName;
  return { ...spec, volumes: [...(spec.volumes ?? []), ...volumes], ...(nodeName ? { nodeName } : {}) };
}

/** An instance's pod spec with what restoring it and archiving its logs need. */
export function withDataProtection(spec: V1PodSpec, input: InstanceDataProtection): V1PodSpec {
  let next = spec;
  if (input.restore) next = withRestore(next, input.restore);
  if (input.logArchive) next = withLogArchive(next, input.logArchive);
  const access = [input.restore?.access, input.logArchive?.access].filter((a): a is RepoAccess => Boolean(a));
  return access.length ? withRepoVolumes(next, access) : next;
}
