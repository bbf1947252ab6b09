import type { Command } from "commander";
import type { CreateRepoOptions, ListReposOptions } from "../backup/repo.js";
import { outputOption, timeoutOption } from "../options.js";
import type { Session } from "../session.js";

/** `backuprepo create|list`: where backups are stored, and whether the operator could write there. */
export function registerBackupRepoCommands(program: Command, session: Session): void {
  const impl = () => import("../backup/repo.js");
  const repo = program
    .command("backuprepo")
    .description("create and list backup repositories: a directory on a node or an S3-compatible bucket");

  repo
    .command("create")
    .description(
      "create a backup repository; it is ready once the operator wrote, read and deleted a test object there",
    )
    .argument("<name>", "repository name (cluster-wide)")
    .option("--filesystem <path>", "an existing directory on the node (absolute path)")
    .option(
      "--node <name>",
      "the node holding the directory (default: any node; the path must then be shared)",
    )
    .option("--s3-endpoint <url>", "URL of an S3-compatible service, e.g. https://s3.example.com")
    .option("--bucket <name>", "bucket for the backups (it must exist)")
    .option("--prefix <prefix>", "key prefix for the backups in the bucket")
    .option("--region <region>", "region used to sign requests (default us-east-1)")
    .option("--credentials-secret <namespace/name>", "Secret with the keys accessKeyId and secretAccessKey")
    .option("--wait", "wait for the first check and fail if it does")
    .addOption(timeoutOption("2m", "the first check"))
    .addOption(outputOption())
    .action(async (name: string, options: CreateRepoOptions) =>
      (await impl()).createRepo(session, name, options),
    );

  repo
    .command("list")
    .alias("ls")
    .description("list backup repositories: where they are, whether they are ready and why not")
    .addOption(outputOption())
    .action(async (options: ListReposOptions) => (await impl()).listRepos(session, options));
}
