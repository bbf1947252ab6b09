import type { Command } from "commander";
import type { ShowOptions } from "../addon/show.js";
import { outputOption } from "../options.js";
import type { Session } from "../session.js";

export function registerAddonCommands(program: Command, session: Session): void {
  const addon = program.command("addon").description("engines installed in the cluster and what they offer");

  addon
    .command("list")
    .alias("ls")
    .description("list installed addons with their engines, topologies and versions")
    .addOption(outputOption())
    .action(async (options: ShowOptions) => (await import("../addon/show.js")).listAddons(session, options));

  addon
    .command("describe")
    .description("show an addon: topologies, components, versions, roles, HA mode and actions")
    .argument("<name>", "addon or engine name")
    .addOption(outputOption())
    .action(async (name: string, options: ShowOptions) =>
      (await import("../addon/show.js")).describeAddon(session, name, options),
    );
}
