import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import {
  API_VERSION,
  labels,
  matchesDefinition,
  type Cluster,
  type ClusterDefinition,
  type ComponentDefinition,
  type ComponentVersion,
  type Topology,
} from "@tessera/api";
import { ApiError, type KubeClient } from "@tessera/kube";
import { DefinitionCatalog } from "@tessera/operator";
import { findAddons } from "@tessera/addons";
import { BUNDLED_ADDONS } from "@tessera/addons";
import { UsageError, quoteList } from "./errors.js";
import { notInstalled } from "./not-installed.js";

/** How to reach an engine with its own client; from the `cli.connect` section of addon.yaml. */
const connectFacts = z.object({
  /** Service suffix (`<cluster>-<component>-<service>`) and port name. */
  service: z.string().min(1),
  port: z.string().min(1),
  /** System account whose Secret holds the credentials; engines without authentication have none. */
  account: z.string().min(1).optional(),
  /** Client command, environment and URL templates with {host} {port} {username} {password}. */
  command: z.array(z.string()).min(1),
  env: z.record(z.string(), z.string()).optional(),
  url: z.string().optional(),
});

const cliFacts = z.object({
  /** The component that --replicas, --version, --cpu, --memory and --storage apply to. */
  component: z.string().optional(),
  connect: connectFacts.optional(),
});

const addonManifest = z.object({
  name: z.string(),
  description: z.string().optional(),
});

export type ConnectFacts = z.infer<typeof connectFacts>;
type CliFacts = z.infer<typeof cliFacts>;

/** What this checkout's addon.yaml says; a malformed `cli` section only matters to commands that use it. */
interface LocalManifest {
  description?: string;
  cli: CliFacts;
  cliProblem?: string;
}

/** An addon as installed in the cluster, with the CLI facts its addon.yaml declares. */
export interface Addon {
  name: string;
  description: string;
  clusterDefinitions: ClusterDefinition[];
  componentDefinitions: ComponentDefinition[];
  componentVersions: ComponentVersion[];
  /** The addon.yaml `cli` section, when this checkout ships the addon. */
  cli: CliFacts;
  /** Why the `cli` section could not be read, if it could not. */
  cliProblem?: string;
}

/** Reads each bundled addon's addon.yaml; the `cli` section is for the CLI only and is not installed. */
function localManifests(): Map<string, LocalManifest> {
  const manifests = new Map<string, LocalManifest>();
  for (const dir of findAddons(BUNDLED_ADDONS)) {
    const file = join(dir, "addon.yaml");
    const content = parse(readFileSync(file, "utf8")) as { cli?: unknown };
    const manifest = addonManifest.safeParse(content);
    if (!manifest.success) continue;
    const cli = cliFacts.safeParse(content.cli ?? {});
    const issue = cli.error?.issues[0];
    manifests.set(manifest.data.name, {
      description: manifest.data.description,
      cli: cli.data ?? {},
      cliProblem: issue && `${file}: cli.${issue.path.join(".")}: ${issue.message}`,
    });
  }
  return manifests;
}

/**
 * The addon definitions installed in a cluster (ClusterDefinitions,
 * ComponentDefinitions, ComponentVersions), grouped by addon. Every choice
 * the CLI offers (engines, topologies, versions, replica limits) comes from
 * here, never from engine names in code.
 */
export class AddonCatalog {
  readonly catalog: DefinitionCatalog;

  /** Definitions as listed from a cluster; CLI facts from this checkout's addon.yaml files. */
  constructor(
    readonly clusterDefinitions: ClusterDefinition[],
    readonly componentDefinitions: ComponentDefinition[],
    readonly componentVersions: ComponentVersion[],
    private readonly manifests = localManifests(),
  ) {
    this.catalog = new DefinitionCatalog({
      clusterDefinitions: () => clusterDefinitions,
      componentDefinitions: () => componentDefinitions,
      componentVersions: () => componentVersions,
    });
  }

  static async load(client: KubeClient, server: string): Promise<AddonCatalog> {
    try {
      const [clusterDefs, compDefs, versions] = await Promise.all([
        client.list<ClusterDefinition>(API_VERSION, "ClusterDefinition"),
        client.list<ComponentDefinition>(API_VERSION, "ComponentDefinition"),
        client.list<ComponentVersion>(API_VERSION, "ComponentVersion"),
      ]);
      return new AddonCatalog(clusterDefs.items, compDefs.items, versions.items);
    } catch (error) {
      if (error instanceof ApiError && error.statusCode === 404) throw notInstalled(server);
      throw error;
    }
  }

  /** Installed addons, by name. */
  addons(): Addon[] {
    const names = new Set(this.clusterDefinitions.map(addonNameOf));
    return [...names].sort().map((name) => this.addon(name)!);
  }

  /** An addon by its name or by one of its ClusterDefinitions' names. */
  addon(name: string): Addon | undefined {
    const clusterDefinitions = this.clusterDefinitions.filter((d) => addonNameOf(d) === name);
    if (clusterDefinitions.length === 0) {
      const byDefinition = this.clusterDefinitions.find((d) => d.metadata.name === name);
      return byDefinition ? this.addon(addonNameOf(byDefinition)) : undefined;
    }
    const referenced = clusterDefinitions.flatMap((d) =>
      d.spec.topologies.flatMap((t) => t.components.map((c) => c.compDef)),
    );
    const componentDefinitions = this.componentDefinitions.filter(
      (d) =>
        d.metadata.labels?.[labels.addon] === name ||
        referenced.some((ref) => matchesDefinition(d.metadata.name!, ref)),
    );
    const componentVersions = this.componentVersions.filter(
      (v) =>
        v.metadata.labels?.[labels.addon] === name ||
        v.spec.compatibilityRules.some((rule) =>
          componentDefinitions.some((d) => rule.compDefs.some((p) => matchesDefinition(d.metadata.name!, p))),
        ),
    );
    const manifest = this.manifests.get(name);
    return {
      name,
      description: manifest?.description ?? componentDefinitions[0]?.spec.description ?? "",
      clusterDefinitions,
      componentDefinitions,
      componentVersions,
      cli: manifest?.cli ?? {},
      cliProblem: manifest?.cliProblem,
    };
  }

  /**
   * The ClusterDefinition `cluster create <engine>` means: one named so,
   * else the only ClusterDefinition of the addon named so.
   */
  engine(name: string): { addon: Addon; clusterDefinition: ClusterDefinition } {
    const addon = this.addon(name);
    const clusterDefinition =
      addon?.clusterDefinitions.find((d) => d.metadata.name === name) ??
      (addon?.clusterDefinitions.length === 1 ? addon.clusterDefinitions[0] : undefined);
    if (!addon || !clusterDefinition) {
      throw new UsageError(
        `unknown engine "${name}"; installed engines: ${quoteList(this.engineNames())} (see \`tessera addon list\`)`,
      );
    }
    return { addon, clusterDefinition };
  }

  engineNames(): string[] {
    return this.clusterDefinitions.map((d) => d.metadata.name!).sort();
  }

  /** The addon a cluster was created from (through its ClusterDefinition or ComponentDefinitions). */
  addonOf(cluster: Cluster): Addon | undefined {
    if (cluster.spec.clusterDef) return this.addon(cluster.spec.clusterDef);
    const compDef = cluster.spec.componentSpecs[0]?.componentDef;
    const definition = this.componentDefinitions.find(
      (d) => compDef && (d.metadata.name === compDef || matchesDefinition(d.metadata.name!, compDef)),
    );
    return definition ? this.addon(definition.metadata.labels?.[labels.addon] ?? "") : undefined;
  }
}

/** The component of a topology that sizing flags and `connect` apply to: the addon's choice, else the first. */
export function primaryComponent(addon: Addon, topology: Topology): string {
  const chosen = addon.cli.component;
  return chosen && topology.components.some((c) => c.name === chosen) ? chosen : topology.components[0]!.name;
}

function addonNameOf(definition: ClusterDefinition): string {
  return definition.metadata.labels?.[labels.addon] ?? definition.metadata.name!;
}
