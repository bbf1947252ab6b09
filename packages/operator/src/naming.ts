export { names } from "@tessera/api";

export const finalizers = {
  cluster: "tessera.dev/cluster",
  component: "tessera.dev/component",
  /** Holds a Backup until its data is removed from the repository (deletionPolicy Delete). */
  backupData: "tessera.dev/backup-data",
} as const;
