import type { BackupRepo, Component, ComponentDefinition } from "@tessera/api";
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
}

/**
 * What a component's instances need for its restore source and its log archive, resolved against
 * the repositories (and their credentials copied next to the pods). Undefined when neither is asked.
 */
export async function instanceDataProtection(
  client: KubeClient,
  repos: Informer<BackupRepo>,
  component: Component,
  compDef: ComponentDefinition,
): Promise<InstanceDataProtection | undefined> {
  const { restore, logArchive } = component.spec;
  if (!restore && !logArchive) return undefined;
  const namespace = component.metadata.namespace!;
  const repo = async (name: string): Promise<BackupRepo> => {
    const found = repos.get(name);
    if (!found) throw new DataProtectionError(`backup repository ${name} does not exist`);
    await ensureRepoSecret(client, found, namespace);
    return found;
  };
  const result: InstanceDataProtection = {};
  if (restore) {
    const method = compDef.spec.backup?.methods.find((m) => m.name === restore.method);
    if (!method) {
      throw new DataProtectionError(
        `${compDef.metadata.name} has no backup method ${restore.method} to restore with`,
      );
    }
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
