import type { Command } from "commander";
import type { CancelOptions } from "../ops/cancel.js";
import type { DescribeOpsOptions } from "../ops/describe.js";
import type { ListOpsOptions } from "../ops/list.js";
import type { ExpandOptions, ExposeOptions, RebuildOptions } from "../ops/storage-network.js";
import type { RunOpOptions, UpgradeOptions } from "../ops/upgrade-run-op.js";
import type {
  ComponentsOptions,
  ReconfigureOptions,
  ScaleOptions,
  SwitchoverOptions,
} from "../ops/submit.js";
import { namespaceOption, outputOption, parseCount, repeatable, timeoutOption } from "../options.js";
import type { Session } from "../session.js";

const FOLLOW =
  "\nEach command creates an OpsRequest; operations on one cluster run one at a time, in order. Follow them with `tessera ops list` and `tessera ops describe <name>`.";

/** A `cluster <verb> <name>` that creates an OpsRequest, with the options every operation shares. */

function operation(cluster: Command, verb: string, description: string): Command {
  return cluster
    .command(verb)
    .description(description)
    .argument("<name>", "cluster name")
    .addOption(namespaceOption())
    .option("--wait", "wait until the operation ends, showing its progress")
    .addOption(timeoutOption("10m", "the operation to end (it goes on after the wait)"))
    .addOption(outputOption())
    .addHelpText("after", FOLLOW);
}

/**
 * Day-2 operations: `cluster restart|stop|start|scale|switchover|reconfigure` (added to
 * the `cluster` command) create OpsRequests; `ops list|describe|cancel`
 * follow them.
 */
export function registerOpsCommands(program: Command, session: Session): void {
  const cluster = program.commands.find((c) => c.name() === "cluster")!;
  const impl = () => import("../ops/submit.js");

  operation(
    cluster,
    "restart",
    "restart every instance, replicas first and the primary last after a switchover",
  )
    .option("--component <name...>", "restart only these components (default: all)")
    .action(async (name: string, options: ComponentsOptions) =>
      (await impl()).restartCluster(session, name, options),
    );

  operation(cluster, "stop", "stop a cluster: its pods are deleted, its volumes and data kept")
    .option("--component <name...>", "stop only these components (default: all)")
    .action(async (name: string, options: ComponentsOptions) =>
      (await impl()).stopCluster(session, name, options),
    );

  operation(cluster, "start", "start a stopped cluster again on its volumes")
    .option("--component <name...>", "start only these components (default: all)")
    .action(async (name: string, options: ComponentsOptions) =>
      (await impl()).startCluster(session, name, options),
    );

  operation(
    cluster,
    "scale",
    "change the number of instances (or take chosen ones offline), or their CPU and memory",
  )
    .alias("resize")
    .option("--component <name>", "component to scale (default: the engine's main component)")
    .option("--replicas <n>", "the new number of instances", parseCount)
    .option("--offline <pod...>", "take exactly these instances out, with their volumes")
    .option("--online <pod...>", "bring back instances taken offline before")
    .option("--cpu <quantity>", "CPU per instance, requests and limits (e.g. 500m, 2)")
    .option("--memory <quantity>", "memory per instance, requests and limits (e.g. 512Mi, 2Gi)")
    .action(async (name: string, options: ScaleOptions) =>
      (await impl()).scaleCluster(session, name, options),
    );

  operation(cluster, "switchover", "move the writable role to another instance")
    .option(
      "--component <name>",
      "component whose writable role moves (default: the engine's main component)",
    )
    .option("--candidate <pod>", "instance to take the role (default: the most advanced ready replica)")
    .action(async (name: string, options: SwitchoverOptions) =>
      (await impl()).switchoverCluster(session, name, options),
    );

  const storageNetwork = () => import("../ops/storage-network.js");

  operation(cluster, "rebuild", "give a replica new volumes, filled from the primary, keeping its name")
    .option("--instance <pod>", "instance to rebuild (repeatable; not the primary)", repeatable)
    .option("--component <name>", "component of the instances (default: read from their names)")
    .action(async (name: string, options: RebuildOptions) =>
      (await storageNetwork()).rebuildCluster(session, name, options),
    );

  operation(cluster, "expand", "grow volumes online (their StorageClass must allow expansion)")
    .option("--component <name>", "component whose volumes grow (default: the engine's main component)")
    .option(
      "--volume <volume=size>",
      "a volume and its new size (repeatable), e.g. --volume data=20Gi",
      repeatable,
    )
    .action(async (name: string, options: ExpandOptions) =>
      (await storageNetwork()).expandCluster(session, name, options),
    );

  operation(cluster, "expose", "add (or with --disable remove) a NodePort or LoadBalancer Service for a role")
    .option("--component <name>", "component to expose (default: the engine's main component)")
    .option("--type <type>", "NodePort or LoadBalancer")
    .option("--role <role>", "only the instances of this role, e.g. primary (default: every ready instance)")
    .option("--name <name>", "the service's name in the component (default: ext, or ext-<role>)")
    .option("--disable", "remove the service instead")
    .action(async (name: string, options: ExposeOptions) =>
      (await storageNetwork()).exposeCluster(session, name, options),
    );

  operation(
    cluster,
    "reconfigure",
    "set engine parameters: dynamic ones live, static ones by restarting the instances (the primary last)",
  )
    .alias("configure")
    .option("--component <name>", "component to reconfigure (default: the engine's main component)")
    .option(
      "--set <name=value>",
      "a parameter and its new value (repeatable), e.g. --set work_mem=64MB",
      repeatable,
    )
    .action(async (name: string, options: ReconfigureOptions) =>
      (await impl()).reconfigureCluster(session, name, options),
    );

  const versions = () => import("../ops/upgrade-run-op.js");

  operation(
    cluster,
    "upgrade",
    "move to another engine version (or definition) the addon allows, the primary last after a switchover",
  )
    .option("--component <name>", "component to upgrade (default: the engine's main component)")
    .option("--version <version>", "the engine version to run, e.g. 15.6")
    .option("--component-def <name>", "the ComponentDefinition to run (default: unchanged)")
    .action(async (name: string, options: UpgradeOptions) =>
      (await versions()).upgradeCluster(session, name, options),
    );

  operation(
    cluster,
    "run-op",
    "run an operation the engine's addon offers (e.g. vacuum-analyze); without one, list them",
  )
    .argument("[operation]", "the operation, as the addon names it")
    .option("--component <name>", "component to run it on (default: the engine's main component)")
    .option(
      "--param <name=value>",
      "a parameter of the operation (repeatable), e.g. --param database=app",
      repeatable,
    )
    .action(async (name: string, operation: string | undefined, options: RunOpOptions) =>
      (await versions()).runOperation(session, name, operation, options),
    );

  const ops = program.command("ops").description("list, inspect and cancel day-2 operations (OpsRequests)");

  ops
    .command("list")
    .alias("ls")
    .description("list operations, oldest first")
    .addOption(namespaceOption())
    .option("-A, --all-namespaces", "list operations in every namespace")
    .option("--cluster <name>", "only the operations on this cluster")
    .addOption(outputOption())
    .action(async (options: ListOpsOptions) => (await import("../ops/list.js")).listOps(session, options));

  ops
    .command("describe")
    .description("show an operation: its steps, each instance's progress, and recent events")
    .argument("<name>", "OpsRequest name")
    .addOption(namespaceOption())
    .addOption(outputOption())
    .action(async (name: string, options: DescribeOpsOptions) =>
      (await import("../ops/describe.js")).describeOps(session, name, options),
    );

  ops
    .command("cancel")
    .description(
      "cancel an operation: a queued one never starts; a running scale, stop, start or reconfigure is put back",
    )
    .argument("<name>", "OpsRequest name")
    .addOption(namespaceOption())
    .option("--wait", "wait until the operation ended")
    .addOption(timeoutOption("10m", "the cancellation"))
    .action(async (name: string, options: CancelOptions) =>
      (await import("../ops/cancel.js")).cancelOps(session, name, options),
    );
}
