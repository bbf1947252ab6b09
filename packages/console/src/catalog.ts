import {
  API_VERSION,
  compareVersions,
  definitionsFor,
  matchesDefinition,
  type ClusterDefinition,
  type ComponentDefinition,
  type ComponentVersion,
} from "@tessera/api";
import type { KubeClient } from "@tessera/kube";

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

interface Definitions {
  compDefs: ComponentDefinition[];
  versions: ComponentVersion[];
}

/** A topology's component as the operator resolves it: the exact definition, else the newest matching the prefix. */
function component({ compDefs, versions }: Definitions, name: string, reference: string): CatalogComponent {
  const compDef = definitionsFor(compDefs, reference)[0];
  if (!compDef) throw new Error(`no ComponentDefinition named or prefixed "${reference}"`);
  const compDefName = compDef.metadata.name!;
  const offered = versions.flatMap((v) => {
    const allowed = new Set(
      v.spec.compatibilityRules
        .filter((r) => r.compDefs.some((p) => matchesDefinition(compDefName, p)))
        .flatMap((r) => r.releases),
    );
    return v.spec.releases.filter((r) => allowed.has(r.name)).map((r) => r.serviceVersion);
  });
  const limit = compDef.spec.replicasLimit;
  return {
    name,
    compDef: compDefName,
    minReplicas: limit?.minReplicas ?? 0,
    maxReplicas: limit?.maxReplicas,
    versions: [...new Set(offered)].sort((a, b) => compareVersions(b, a)),
    volumes: (compDef.spec.volumes ?? []).map((v) => v.name),
    backupMethods: (compDef.spec.backup?.methods ?? []).map((m) => m.name),
    pointInTime: compDef.spec.backup?.logArchive !== undefined,
  };
}

/**
 * The installed engines as the creation form needs them, read as the user
 * and resolved the way the operator resolves a Cluster (definition
 * prefixes pick the newest; versions are those a ComponentVersion offers
 * for the definition), so the form offers what will be accepted. A
 * topology whose definitions are missing is left out.
 */
export async function listEngines(client: KubeClient): Promise<Engine[]> {
  const [clusterDefs, compDefs, versions] = await Promise.all([
    client.listAll<ClusterDefinition>(API_VERSION, "ClusterDefinition"),
    client.listAll<ComponentDefinition>(API_VERSION, "ComponentDefinition"),
    client.listAll<ComponentVersion>(API_VERSION, "ComponentVersion"),
  ]);
  const definitions = { compDefs: compDefs.items, versions: versions.items };
  return clusterDefs.items
    .map((def) => ({
      name: def.metadata.name!,
      topologies: def.spec.topologies.flatMap((t) => {
        try {
          const components = t.components.map((c) => component(definitions, c.name, c.compDef));
          return [{ name: t.name, default: t.default ?? false, components }];
        } catch {
          return [];
        }
      }),
    }))
    .filter((e) => e.topologies.length > 0)
    .sort((a, b) => a.name.localeCompare(b.name));
}
