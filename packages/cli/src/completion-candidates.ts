import type { Option } from "commander";
import { API_VERSION, type Backup, type BackupRepo, type Cluster } from "@tessera/api";
import { AddonCatalog } from "./addons.js";
import type { WordContext } from "./completion.js";
import { Session } from "./session.js";

function commandPath(context: WordContext): string {
  const names: string[] = [];
  for (let c = context.command; c.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** Commands whose argument is a cluster of the namespace. */
const CLUSTER_ARGUMENT = [
  "describe",
  "connect",
  "delete",
  "restart",
  "stop",
  "start",
  "scale",
  "switchover",
  "upgrade",
  "run-op",
]
  .map((verb) => `cluster ${verb}`)
  .concat("backup create", "backup list");

/** Commands whose argument is a backup of the namespace. */
const BACKUP_ARGUMENT = ["backup describe", "backup delete"];

/** Engines, clusters, backups, repositories, addons, topologies and versions from the cluster the typed words point at. */
export async function clusterCandidates(
  context: WordContext,
  target: "argument" | Option,
): Promise<string[]> {
  const session = new Session(() => ({
    kubeconfig: context.values.get("--kubeconfig"),
    context: context.values.get("--context"),
    color: false,
  }));
  try {
    const conn = await session.kube();
    const path = commandPath(context);
    const [first] = context.positionals;
    const namespace = context.values.get("--namespace") ?? conn.namespace;
    const backupNames = async () =>
      (await conn.client.list<Backup>(API_VERSION, "Backup", { namespace })).items.map(
        (b) => b.metadata.name!,
      );
    if (target === "argument") {
      if (first !== undefined) return [];
      if (path === "cluster create") return (await AddonCatalog.load(conn.client, conn.server)).engineNames();
      if (path === "addon describe")
        return (await AddonCatalog.load(conn.client, conn.server)).addons().map((a) => a.name);
      if (CLUSTER_ARGUMENT.includes(path)) {
        const clusters = await conn.client.list<Cluster>(API_VERSION, "Cluster", { namespace });
        return clusters.items.map((c) => c.metadata.name!);
      }
      if (BACKUP_ARGUMENT.includes(path)) return backupNames();
      return [];
    }
    if (path === "cluster restore" && target.long === "--from") return backupNames();
    if (path === "backup create" && target.long === "--repo") {
      const repos = await conn.client.list<BackupRepo>(API_VERSION, "BackupRepo");
      return repos.items.map((r) => r.metadata.name!);
    }
    if (path !== "cluster create" || first === undefined) return [];
    const { addon, clusterDefinition } = (await AddonCatalog.load(conn.client, conn.server)).engine(first);
    if (target.long === "--topology") return clusterDefinition.spec.topologies.map((t) => t.name);
    if (target.long === "--version")
      return [
        ...new Set(addon.componentVersions.flatMap((v) => v.spec.releases.map((r) => r.serviceVersion))),
      ];
    return [];
  } finally {
    session.close();
  }
}
