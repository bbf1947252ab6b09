import type { V1Secret } from "@kubernetes/client-node";
import type { BackupRepo, Component, ComponentDefinition, ComponentRestore } from "@tessera/api";
import type { Informer, KubeClient } from "@tessera/kube";
import { REPO_ENV } from "@tessera/repo-tool";
import type { InstanceDataProtection } from "./instance-pods.js";
import { ensureRepoSecret, repoAccess } from "./repo-access.js";

/**
 * The restore belongs to the instances the component was created with. Once it has been Running,
 * an instance created later (a scale-out, a rebuilt volume) starts like any new instance. Said
 * through the environment ConfigMap, read when a container starts, so the pod template (and the
 * instances) stay as they are.
 */
export function restoreCompleteEnv(component: Component, provisioned: boolean): Record<string, string> {
  return component.spec.restore && provisioned ? { [REPO_ENV.restoreComplete]: "true" } : {};
}

/** A restore or log archive names something that is not there: said in the component's status. */
export class DataProtectionError extends Error {
  override name = "DataProtectionError";
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An encrypted backup restores only with its key: a Secret that is gone or lacks it is said in the
 * component's status, not left to a pod that cannot start.
 */
async function checkEncryptionKey(client: KubeClient, namespace: string, restore: ComponentRestore) {
  const name = restore.encryptionKeySecret;
  if (!name) return;
  const secret = await client.find<V1Secret>({ apiVersion: "v1", kind: "Secret", namespace, name });
  const problem = !secret ? "does not exist" : !secret.data?.key ? 'has no key "key"' : undefined;
  if (problem) {
    throw new DataProtectionError(
      "EncryptionKeyMissing",
      `backup ${restore.backup} is encrypted with the key in Secret ${name}, which ${problem} in namespace ${namespace}`,
    );
  }
}

/**
 * What a component's instances need for its restore source and its log archive, resolved against
 * the repositories (and their credentials copied next to the pods). Undefined when neither is asked.
 * While `restoring` (until the component first ran), what the restore reads must be there.
 */
export async function instanceDataProtection(
  client: KubeClient,
  repos: Informer<BackupRepo>,
  component: Component,
  compDef: ComponentDefinition,
  restoring: boolean,
): Promise<InstanceDataProtection | undefined> {
  const { restore, logArchive } = component.spec;
  if (!restore && !logArchive) return undefined;
  const namespace = component.metadata.namespace!;
  const repo = async (name: string): Promise<BackupRepo> => {
    const found = repos.get(name);
    if (!found)
      throw new DataProtectionError("BackupRepoMissing", `backup repository ${name} does not exist`);
    await ensureRepoSecret(client, found, namespace);
    return found;
  };
  const result: InstanceDataProtection = {};
  if (restore) {
    const method = compDef.spec.backup?.methods.find((m) => m.name === restore.method);
    if (!method) {
      throw new DataProtectionError(
        "BackupMethodMissing",
        `${compDef.metadata.name} has no backup method ${restore.method} to restore with`,
      );
    }
    if (restoring) await checkEncryptionKey(client, namespace, restore);
    result.restore = {
      spec: restore,
      method,
      access: repoAccess(await repo(restore.repo), restore.encryptionKeySecret),
    };
  }
  const archive = compDef.spec.backup?.logArchive;
  if (logArchive && archive) {
    result.logArchive = {
      spec: logArchive,
      container: archive.container,
      access: repoAccess(await repo(logArchive.repo), logArchive.encryptionKeySecret),
    };
  }
  return result;
}
