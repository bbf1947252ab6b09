import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerAddonCommands } from "./commands/addon.js";
import { registerBackupCommands } from "./commands/backup.js";
import { registerBackupRepoCommands } from "./commands/backuprepo.js";
import { registerClusterCommands } from "./commands/cluster.js";
import { registerCompletionCommands } from "./commands/completion.js";
import { registerInstallCommand } from "./commands/install.js";
import { registerOpsCommands } from "./commands/ops.js";
import { registerPlaygroundCommands } from "./commands/playground.js";
import { registerTenantCommands } from "./commands/tenant.js";
import { oneLine } from "./errors.js";
import { asKubectlPlugin } from "./invocation.js";
import { Session, type GlobalOptions } from "./session.js";

const VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

function forEachCommand(command: Command, visit: (command: Command) => void): void {
  visit(command);
  for (const sub of command.commands) forEachCommand(sub, visit);
}

/**
 * The `tessera` command tree. Command modules only declare commands; each
 * action imports its implementation when it runs, so help and completion
 * never load the Kubernetes client.
 */
export function createCli(): { program: Command; session: Session } {
  const program = new Command(asKubectlPlugin() ? "kubectl tessera" : "tessera")
    .description("Tessera: highly available databases on Kubernetes; one operator, engines as addons.")
    .option(
      "--kubeconfig <path>",
      "kubeconfig (default: $KUBECONFIG, the running playground, ~/.kube/config)",
    )
    .option("--context <name>", "kubeconfig context")
    .option("--no-color", "plain output even on a terminal (as NO_COLOR=1 does)")
    .showSuggestionAfterError(true);
  const session = new Session(() => program.opts<GlobalOptions>());
  registerPlaygroundCommands(program, session);
  registerInstallCommand(program, session);
  registerClusterCommands(program, session);
  registerOpsCommands(program, session);
  registerBackupCommands(program, session);
  registerBackupRepoCommands(program, session);
  registerTenantCommands(program, session);
  registerAddonCommands(program, session);
  registerCompletionCommands(program);
  // A command rather than a --version flag: program flags are read after subcommands too,
  // and `cluster create --version` is the engine's version.
  program
    .command("version")
    .description("print the version of this CLI")
    .action(() => void process.stdout.write(`${VERSION}\n`));
  forEachCommand(program, (command) => {
    command.exitOverride();
    // Usage errors on one line, with where to read about the command.
    command.configureOutput({
      outputError: (message, write) =>
        write(`${oneLine(message)} (see \`${commandPath(command)} --help\`)\n`),
    });
  });
  return { program, session };
}
