import type { Command } from "commander";
import type { ConnectOptions } from "../cluster/connect.js";
import type { CreateOptions } from "../cluster/create.js";
import type { DeleteOptions } from "../cluster/delete.js";
import type { DescribeOptions } from "../cluster/describe.js";
import type { ListOptions } from "../cluster/list.js";
import type { RestoreOptions } from "../cluster/restore.js";
import { namespaceOption, outputOption, parseCount, timeoutOption } from "../options.js";
import type { Session } from "../session.js";

export function registerClusterCommands(program: Command, session: Session): void {
  const cluster = program
    .command("cluster")
    .description("create, inspect, connect to and delete database clusters");

  cluster
    .command("create")
    .description("create a database cluster from an installed engine (see `tessera addon list`)")
    .argument("<engine>", "engine (ClusterDefinition) to create the cluster from, e.g. postgresql")
    .argument("<name>", "cluster name (a DNS label)")
    .option("--topology <name>", "topology of the engine (default: the engine's default topology)")
    .option("--replicas <n>", "instances of the engine's main component (default: its minimum)", parseCount)
    .option("--version <version>", "service version (default: the newest the engine offers)")
    .option("--cpu <quantity>", "CPU per instance, requests and limits (e.g. 500m, 2)")
    .option("--memory <quantity>", "memory per instance, requests and limits (e.g. 512Mi, 2Gi)")
    .option("--storage <quantity>", "size of each data volume (default 1Gi)")
    .option("--storage-class <name>", "StorageClass of the data volumes (default: the cluster's default)")
    .option(
      "--termination-policy <policy>",
      "what deleting the cluster deletes: DoNotTerminate, Delete, WipeOut",
      "Delete",
    )
    .addOption(namespaceOption())
    .option("--dry-run", "validate against the cluster's API and definitions without creating anything")
    .addOption(outputOption())
    .option("--wait", "wait until the cluster is Running")
    .addOption(timeoutOption("10m", "the cluster to be Running"))
    .addHelpText(
      "after",
      "\nAllowed topologies, versions and replica counts come from the engine's definitions: `tessera addon describe <engine>`.",
    )
    .action(async (engine: string, name: string, options: CreateOptions) =>
      (await import("../cluster/create.js")).createCluster(session, engine, name, options),
    );

  cluster
    .command("restore")
    .description("create a new cluster from a completed backup, optionally recovered to a point in time")
    .argument("<name>", "name of the new cluster (a DNS label)")
    .requiredOption("--from <backup>", "the Completed backup to restore, in the same namespace")
    .option(
      "--to-time <time>",
      "recover to this moment (RFC 3339, e.g. 2026-01-01T12:00:00Z; without an offset, local time) instead of the backup's end; needs a backup taken with point-in-time recovery",
    )
    .option(
      "--replicas <n>",
      "instances of the restored component (default: as the backed-up cluster)",
      parseCount,
    )
    .addOption(namespaceOption())
    .addOption(outputOption())
    .option("--wait", "wait until the cluster is Running")
    .addOption(timeoutOption("30m", "the cluster to be Running"))
    .addHelpText(
      "after",
      "\nThe new cluster is shaped like the backed-up one when it still exists (engine, topology, and each component's replicas, resources, volumes, version and parameters); otherwise it is the backed-up component alone, from the backup's definition and version, with volumes twice the backup's uncompressed size (at least 1Gi). Backup settings are not copied.",
    )
    .action(async (name: string, options: RestoreOptions) =>
      (await import("../cluster/restore.js")).restoreCluster(session, name, options),
    );

  cluster
    .command("list")
    .alias("ls")
    .description("list clusters")
    .addOption(namespaceOption())
    .option("-A, --all-namespaces", "list clusters in every namespace")
    .addOption(outputOption())
    .action(async (options: ListOptions) =>
      (await import("../cluster/list.js")).listClusters(session, options),
    );

  cluster
    .command("describe")
    .description("show a cluster: instances and roles, endpoints, HA state, conditions and recent events")
    .argument("<name>", "cluster name")
    .addOption(namespaceOption())
    .addOption(outputOption())
    .action(async (name: string, options: DescribeOptions) =>
      (await import("../cluster/describe.js")).describeCluster(session, name, options),
    );

  cluster
    .command("connect")
    .description("open the engine's client on the cluster, as its administrative account")
    .argument("<name>", "cluster name")
    .argument("[client-args...]", "more arguments for the client, after -- (e.g. -- -c 'select 1')")
    .addOption(namespaceOption())
    .option(
      "-i, --instance <instance>",
      "connect to one instance (pod name or ordinal) instead of the service",
    )
    .option("--show", "print the connection URL and command, password included, instead of connecting")
    .addOption(outputOption().hideHelp())
    .action(async (name: string, clientArgs: string[], options: ConnectOptions) =>
      (await import("../cluster/connect.js")).connectCluster(session, name, clientArgs, options),
    );

  cluster
    .command("delete")
    .description("delete a cluster, as its termination policy says")
    .argument("<name>", "cluster name")
    .addOption(namespaceOption())
    .option("--wait", "wait until the cluster and its instances are gone")
    .addOption(timeoutOption("5m", "the deletion"))
    .action(async (name: string, options: DeleteOptions) =>
      (await import("../cluster/delete.js")).deleteCluster(session, name, options),
    );
}
