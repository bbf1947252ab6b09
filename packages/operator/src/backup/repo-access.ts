import type { V1Container, V1EnvVar, V1Secret, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { DEFAULT_S3_REGION, S3_CREDENTIAL_KEYS, labels, type BackupRepo } from "@tessera/api";
import { isAlreadyExists, type KubeClient } from "@tessera/kube";

/**
 * The image of tessera-repo, which moves data between pods and repositories. On the hostlet it maps
 * to the checkout's own tool (packages/hostlet/images.yaml).
 */
export const TOOLS_IMAGE = "tessera/tools:0.1";
/** Where a filesystem repository's directory is mounted in the pods that use it. */
const REPO_MOUNT = "/tessera/repo";
const REPO_VOLUME = "tessera-repo";

/** What a container needs to reach a repository: its environment and volumes, and the node it must run on. */
export interface RepoAccess {
  env: V1EnvVar[];
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
  nodeName?: string;
}

/** A directory on the node is read and written with the node's permissions, whatever user the engine runs as. */
export function repoUser(access: RepoAccess): V1Container["securityContext"] {
  return access.volumes.some((v) => v.hostPath) ? { runAsUser: 0, runAsGroup: 0 } : undefined;
}

/** The copy of an s3 repository's credentials kept in each namespace whose pods use it. */
export function repoSecretName(repo: string): string {
  return `tessera-backuprepo-${repo}`;
}

export function repoAccess(repo: BackupRepo, encryptionKeySecret?: string): RepoAccess {
  const encryption: V1EnvVar[] = encryptionKeySecret
    ? [
        {
          name: "TESSERA_REPO_ENCRYPTION_KEY",
          valueFrom: { secretKeyRef: { name: encryptionKeySecret, key: "key" } },
        },
      ]
    : [];
  if (repo.spec.kind === "filesystem") {
    const fs = repo.spec.filesystem!;
    return {
      env: [
        { name: "TESSERA_REPO_KIND", value: "filesystem" },
        { name: "TESSERA_REPO_PATH", value: REPO_MOUNT },
        ...encryption,
      ],
      volumes: [{ name: REPO_VOLUME, hostPath: { path: fs.path, type: "Directory" } }],
      mounts: [{ name: REPO_VOLUME, mountPath: REPO_MOUNT }],
      ...(fs.nodeName ? { nodeName: fs.nodeName } : {}),
    };
  }
  const s3 = repo.spec.s3!;
  const secret = repoSecretName(repo.metadata.name!);
  return {
    env: [
      { name: "TESSERA_REPO_KIND", value: "s3" },
      { name: "TESSERA_REPO_S3_ENDPOINT", value: s3.endpoint },
      { name: "TESSERA_REPO_S3_BUCKET", value: s3.bucket },
      ...(s3.prefix ? [{ name: "TESSERA_REPO_S3_PREFIX", value: s3.prefix }] : []),
      { name: "TESSERA_REPO_S3_REGION", value: s3.region ?? DEFAULT_S3_REGION },
      { name: "TESSERA_REPO_S3_FORCE_PATH_STYLE", value: String(s3.forcePathStyle ?? true) },
      {
        name: "TESSERA_REPO_S3_ACCESS_KEY_ID",
        valueFrom: { secretKeyRef: { name: secret, key: "accessKeyId" } },
      },
      {
        name: "TESSERA_REPO_S3_SECRET_ACCESS_KEY",
        valueFrom: { secretKeyRef: { name: secret, key: "secretAccessKey" } },
      },
      ...encryption,
    ],
    volumes: [],
    mounts: [],
  };
}

/**
 * Copies an s3 repository's credentials into the namespace whose pods use them (a pod reads Secrets
 * of its own namespace only). The copy is made once; a changed source is picked up by deleting it.
 */
export async function ensureRepoSecret(
  client: KubeClient,
  repo: BackupRepo,
  namespace: string,
): Promise<void> {
  if (repo.spec.kind !== "s3" || !repo.spec.s3) return;
  const ref = repo.spec.s3.credentialsSecretRef;
  const source = await client.find<V1Secret>({
    apiVersion: "v1",
    kind: "Secret",
    namespace: ref.namespace,
    name: ref.name,
  });
  if (!source)
    throw new Error(
      `secret ${ref.namespace}/${ref.name} of backup repository ${repo.metadata.name} does not exist`,
    );
  const data = Object.fromEntries(S3_CREDENTIAL_KEYS.map((key) => [key, source.data?.[key] ?? ""]));
  try {
    await client.create<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: repoSecretName(repo.metadata.name!),
        namespace,
        labels: { [labels.managedBy]: "tessera" },
      },
      type: "Opaque",
      data,
    });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}
