import type { Backup, BackupCompression, BackupPolicy, Cluster } from "@tessera/api";

/** What a backup is made with: the component, method, repository, encryption key and compression. */
export interface BackupSettings {
  componentName?: string;
  method?: string;
  repo?: string;
  encryptionKeySecret?: string;
  compression?: BackupCompression;
}

/**
 * Each setting from the first that gives it: the Backup itself, then the policy it names, else
 * the cluster's spec.backup. A named policy replaces the cluster's settings as a whole, so a
 * policy without a key never borrows the cluster's.
 */
export function backupSettings(
  backup: Backup,
  policy: BackupPolicy | undefined,
  cluster: Cluster,
): BackupSettings {
  const defaults: BackupSettings = policy ? policy.spec : (cluster.spec.backup ?? {});
  return {
    componentName: backup.spec.componentName ?? defaults.componentName,
    method: backup.spec.method ?? defaults.method,
    repo: backup.spec.repo ?? defaults.repo,
    encryptionKeySecret: defaults.encryptionKeySecret,
    compression: defaults.compression,
  };
}
