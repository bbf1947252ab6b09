import type { Command } from "commander";
import type { InstallOptions } from "../install/install.js";
import { timeoutOption } from "../options.js";
import type { Session } from "../session.js";

export function registerInstallCommand(program: Command, session: Session): void {
  program
    .command("install")
    .description("install Tessera into a Kubernetes cluster: CRDs, RBAC, the operator and the bundled addons")
    .option("--image <image>", "operator image (default: the one in deploy/operator/deployment.yaml)")
    .option("--no-addons", "leave out the bundled addons")
    .option("--no-wait", "do not wait for the operator to be ready")
    .addOption(timeoutOption("5m", "the operator"))
    .addHelpText(
      "after",
      "\nThe manifests are the ones under deploy/; build the image with\n  docker build -f deploy/operator/Dockerfile -t <image> .",
    )
    .action(async (options: InstallOptions) =>
      (await import("../install/install.js")).install(session, options),
    );
}
