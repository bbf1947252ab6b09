import {
  API_VERSION,
  type ClusterDefinition,
  type ComponentDefinition,
  type ComponentVersion,
} from "@tessera/api";
import type { KubeClient } from "@tessera/kube";
import { DefinitionCatalog } from "@tessera/operator";

/** What the creation form offers for one component of a topology. */
export interface CatalogComponent {
  name: string;
  compDef: string;
  minReplicas: number;
  maxReplicas?: number;
  /** Service versions offered, newest first. */
  versions: string[];
  /** The definition's volumes: each gets a claim of the size asked. */
  volumes: string[];
  /** Backup methods, the default first; none when the engine cannot be backed up. */
  backupMethods: string[];
  /** Whether logs can be archived for point-in-time recovery. */
  pointInTime: boolean;
}

export interface CatalogTopology {
  name: string;
  default: boolean;
  components: CatalogComponent[];
}

export interface Engine {
  name: string;
  topologies: CatalogTopology[];
}

function component(catalog: DefinitionCatalog, name: string, reference: string): CatalogComponent {
  const compDef = catalog.componentDefinition(reference);
  const limit = compDef.spec.replicasLimit;
  return {
    name,
    compDef: compDef.metadata.name!,
    minReplicas: limit?.minReplicas ?? 0,
    maxReplicas: limit?.maxReplicas,
    versions: catalog.releases(compDef.metadata.name!).map((r) => r.serviceVersion),
    volumes: (compDef.spec.volumes ?? []).map((v) => v.name),
    backupMethods: (compDef.spec.backup?.methods ?? []).map((m) => m.name),
    pointInTime: compDef.spec.backup?.logArchive !== undefined,
  };
}

/**
 * The installed engines as the creation form needs them, read as the user
 * and resolved the way the operator resolves a Cluster (definition
 * prefixes pick the newest), so the form offers what will be accepted.
 * A topology whose definitions are missing is left out.
 */
export async function listEngines(client: KubeClient): Promise<Engine[]> {
  const [clusterDefs, compDefs, versions] = await Promise.all([
    client.listAll<ClusterDefinition>(API_VERSION, "ClusterDefinition"),
    client.listAll<ComponentDefinition>(API_VERSION, "ComponentDefinition"),
    client.listAll<ComponentVersion>(API_VERSION, "ComponentVersion"),
  ]);
  const catalog = new DefinitionCatalog({
    clusterDefinitions: () => clusterDefs.items,
    componentDefinitions: () => compDefs.items,
    componentVersions: () => versions.items,
  });
  return clusterDefs.items
    .map((def) => ({
      name: def.metadata.name!,
      topologies: def.spec.topologies.flatMap((t) => {
        try {
          const components = t.components.map((c) => component(catalog, c.name, c.compDef));
          return [{ name: t.name, default: t.default ?? false, components }];
        } catch {
          return [];
        }
      }),
    }))
    .filter((e) => e.topologies.length > 0)
    .sort((a, b) => a.name.localeCompare(b.name));
}
