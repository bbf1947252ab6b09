import type { Command } from "commander";
import type { DownOptions } from "../playground/down.js";
import type { StatusOptions } from "../playground/status.js";
import type { UpOptions } from "../playground/up.js";
import type { ConsoleOptions } from "../console/console.js";
import { outputOption, timeoutOption } from "../options.js";
import type { Session } from "../session.js";

export function registerPlaygroundCommands(program: Command, session: Session): void {
  program
    .command("up")
    .description(
      "start the playground: a local Kubernetes control plane, a node, the operator, the bundled addons and Prometheus",
    )
    .option("--demo", "also create the 3-instance PostgreSQL cluster demo and print how to connect to it")
    .addOption(timeoutOption("10m", "the playground (and the demo cluster)"))
    .option("--node-name <name>", "node name (a new playground only; to run a second one on this machine)")
    .option("--pod-cidr <cidr>", "loopback range for pod IPs (a new playground only)")
    .option("--service-cidr <cidr>", "loopback range for Service ClusterIPs (a new playground only)")
    .addHelpText(
      "after",
      "\nState lives in $TESSERA_HOME/playground (default ~/.tessera/playground) and survives `tessera down`.",
    )
    .action(async (options: UpOptions) => (await import("../playground/up.js")).up(session, options));

  program
    .command("down")
    .description("stop the playground; its data stays for the next `tessera up`")
    .option("--purge", "also delete all its data")
    .action(async (options: DownOptions) => (await import("../playground/down.js")).down(session, options));

  program
    .command("status")
    .description("health of the playground, control plane, nodes, operator and addons (exit 1 if unhealthy)")
    .addOption(outputOption())
    .action(async (options: StatusOptions) =>
      (await import("../playground/status.js")).status(session, options),
    );

  program
    .command("console")
    .description(
      "print the playground's web console address, or serve the console for another cluster (--kubeconfig) until interrupted",
    )
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on (0 picks a free one)", "8443")
    .option("--prometheus-url <url>", "Prometheus the performance charts read (default: the playground's)")
    .action(async (options: ConsoleOptions) =>
      (await import("../console/console.js")).runConsole(session, options),
    );
}
