import type { Command } from "commander";
import type { CreateBackupOptions } from "../backup/create.js";
import type { DeleteBackupOptions } from "../backup/delete.js";
import type { DescribeBackupOptions } from "../backup/describe.js";
import type { ListBackupsOptions } from "../backup/list.js";
import { namespaceOption, outputOption, timeoutOption } from "../options.js";
import type { Session } from "../session.js";

/** `backup create|list|describe|delete`: backups of a cluster's data in a backup repository. */
export function registerBackupCommands(program: Command, session: Session): void {
  const backup = program
    .command("backup")
    .description("take, list, inspect and delete backups of clusters (restore: `tessera cluster restore`)");

  backup
    .command("create")
    .description("back up a cluster now, to its backup repository or another one")
    .argument("<cluster>", "the cluster to back up")
    .option("--name <name>", "backup name (default: <cluster>-<UTC yyyymmddhhmmss>)")
    .option(
      "--method <method>",
      "backup method of the engine (default: the cluster's spec.backup.method, else the engine's first)",
    )
    .option("--repo <repo>", "backup repository (default: the cluster's spec.backup.repo)")
    .addOption(namespaceOption())
    .option("--wait", "wait until the backup is Completed, and fail with its reason if it fails")
    .addOption(timeoutOption("1h", "the backup"))
    .addOption(outputOption())
    .action(async (cluster: string, options: CreateBackupOptions) =>
      (await import("../backup/create.js")).createBackup(session, cluster, options),
    );

  backup
    .command("list")
    .alias("ls")
    .description("list backups: cluster, method, repository, status, size, and why a backup failed")
    .argument("[cluster]", "only the backups of this cluster")
    .addOption(namespaceOption())
    .option("-A, --all-namespaces", "list backups in every namespace")
    .addOption(outputOption())
    .action(async (cluster: string | undefined, options: ListBackupsOptions) =>
      (await import("../backup/list.js")).listBackups(session, cluster, options),
    );

  backup
    .command("describe")
    .description("show a backup: where it is, its size, checksum, positions, timings and recent events")
    .argument("<name>", "backup name")
    .addOption(namespaceOption())
    .addOption(outputOption())
    .action(async (name: string, options: DescribeBackupOptions) =>
      (await import("../backup/describe.js")).describeBackup(session, name, options),
    );

  backup
    .command("delete")
    .description(
      "delete a backup; with deletion policy Delete (the default) the operator first deletes its data from the repository",
    )
    .argument("<name>", "backup name")
    .addOption(namespaceOption())
    .option("--wait", "wait until its data and the backup are gone")
    .addOption(timeoutOption("5m", "the deletion"))
    .action(async (name: string, options: DeleteBackupOptions) =>
      (await import("../backup/delete.js")).deleteBackup(session, name, options),
    );
}
