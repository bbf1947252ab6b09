import { Option, type Command } from "commander";
import type { KubeconfigOptions } from "../tenant/kubeconfig.js";
import type {
  AddUserOptions,
  DeleteTenantOptions,
  TenantOptions,
  ListTenantsOptions,
} from "../tenant/tenant.js";
import { outputOption, parseCount, repeatable, timeoutOption } from "../options.js";
import type { Session } from "../session.js";

/** The options that set a Tenant's spec, shared by create and edit. */
function specOptions(command: Command): Command {
  return command
    .option("--display-name <text>", "human-readable name, e.g. 'Payments team'")
    .option("--admin <user>", "a user who manages the tenant's databases (repeatable)", repeatable)
    .option("--member <user>", "a user who may look at the tenant's databases (repeatable)", repeatable)
    .option("--cpu <quantity>", "most CPU the tenant's instances may request in all, e.g. 8 or 2500m")
    .option("--memory <quantity>", "most memory the tenant's instances may request in all, e.g. 32Gi")
    .option("--storage <quantity>", "most volume size in all, e.g. 500Gi")
    .addOption(new Option("--clusters <n>", "most clusters").argParser(parseCount))
    .addOption(
      new Option("--instances <n>", "most database instances over all clusters").argParser(parseCount),
    )
    .option(
      "--addons <names>",
      "addons the tenant may use, comma-separated, e.g. postgresql,redis (default: all)",
    )
    .option("--no-network-isolation", "let pods of other namespaces connect to the tenant's pods")
    .option("--backup-repo <name>", "BackupRepo the tenant's backups go to by default")
    .addOption(
      new Option(
        "--pod-exec <who>",
        "who may exec into the tenant's pods: Administrators (the default), Members (and administrators) or None",
      ).choices(["Administrators", "Members", "None"]),
    )
    .addOption(
      new Option(
        "--deletion-policy <policy>",
        "Refuse: deleting the tenant is refused while it has clusters; DeleteClusters: they are deleted with it",
      ).choices(["Refuse", "DeleteClusters"]),
    );
}

/** `tenant create|list|describe|edit|delete|add-user|kubeconfig`: teams sharing the platform. */
export function registerTenantCommands(program: Command, session: Session): void {
  const impl = () => import("../tenant/tenant.js");
  const tenant = program
    .command("tenant")
    .description(
      "create and manage tenants: a namespace per team with quotas, its users' roles and network isolation",
    );

  specOptions(
    tenant
      .command("create")
      .description("create a tenant; its namespace (named after it) is ready once the operator set it up")
      .argument("<name>", "tenant name, also its namespace's (a DNS label)"),
  )
    .option("--wait", "wait until its namespace, quota, roles and policies are in place")
    .addOption(timeoutOption("1m", "the tenant to be ready"))
    .addOption(outputOption())
    .action(async (name: string, options: TenantOptions) =>
      (await impl()).createTenant(session, name, options),
    );

  tenant
    .command("list")
    .alias("ls")
    .description("list tenants with their clusters and usage against quota")
    .addOption(outputOption())
    .action(async (options: ListTenantsOptions) => (await impl()).listTenants(session, options));

  tenant
    .command("describe")
    .description("show a tenant: users, quota against usage, allowed addons, isolation, conditions")
    .argument("<name>", "tenant name")
    .addOption(outputOption())
    .action(async (name: string, options: ListTenantsOptions) =>
      (await impl()).describeTenant(session, name, options),
    );

  specOptions(
    tenant
      .command("edit")
      .description("change a tenant: the options given replace those fields (a quota below usage is refused)")
      .argument("<name>", "tenant name"),
  )
    .addOption(outputOption())
    .action(async (name: string, options: TenantOptions) =>
      (await impl()).editTenant(session, name, options),
    );

  tenant
    .command("delete")
    .description(
      "delete a tenant and its namespace (refused while it has clusters, unless its policy says so)",
    )
    .argument("<name>", "tenant name")
    .option("--wait", "wait until the tenant and its namespace are gone")
    .addOption(timeoutOption("5m", "the tenant's namespace to go"))
    .action(async (name: string, options: DeleteTenantOptions) =>
      (await impl()).deleteTenant(session, name, options),
    );

  tenant
    .command("add-user")
    .description("give a user a tenant's member role, or its administrator role with --admin")
    .argument("<tenant>", "tenant name")
    .argument("<user>", "user name, as the apiserver authenticates it")
    .option("--admin", "an administrator (runs databases) rather than a member (looks at them)")
    .option("--group", "the name is a group's, not a user's")
    .action(async (name: string, user: string, options: AddUserOptions) =>
      (await impl()).addUser(session, name, user, options),
    );

  tenant
    .command("kubeconfig")
    .description(
      "write a kubeconfig for a tenant user: a client certificate from the playground's CA (CN=user, O=the tenant's group)",
    )
    .argument("<tenant>", "tenant name")
    .requiredOption("--user <name>", "the user's name (add it with `tenant add-user` to give it a role)")
    .option("--out <file>", "where to write the kubeconfig (default: <tenant>-<user>.kubeconfig)")
    .option(
      "--ca-dir <dir>",
      "directory holding ca.crt and ca.key (default: the pki directory beside the kubeconfig in use, else the playground's)",
    )
    .action(async (name: string, options: KubeconfigOptions) =>
      (await import("../tenant/kubeconfig.js")).writeTenantKubeconfig(session, name, options),
    );
}
