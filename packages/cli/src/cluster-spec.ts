import {
  API_VERSION,
  definitionsFor,
  quantity,
  terminationPolicy,
  type Cluster,
  type ClusterComponentSpec,
  type ComponentDefinition,
} from "@tessera/api";
import { validateCluster } from "@tessera/operator";
import { primaryComponent, type AddonCatalog } from "./addons.js";
import { checkClusterName } from "./cluster/common.js";
import { UsageError, quoteList } from "./errors.js";

/** Each definition volume gets a claim of this size unless --storage says otherwise. */
const DEFAULT_STORAGE = "1Gi";

/** What `cluster create` takes from flags; every value is checked against the installed definitions. */
export interface ClusterFlags {
  topology?: string;
  replicas?: number;
  version?: string;
  cpu?: string;
  memory?: string;
  storage?: string;
  storageClass?: string;
  terminationPolicy?: string;
}

export interface ClusterPlan {
  cluster: Cluster;
  /** One line for people, e.g. `postgresql/replication: postgresql 15 × 3`. */
  summary: string;
}

/**
 * Builds a Cluster from `cluster create` flags. Allowed values come from
 * the engine's definitions: topologies from its ClusterDefinition, versions
 * from its ComponentVersions, replica limits from its ComponentDefinition.
 * Throws a UsageError naming the flag and the allowed values.
 */
export function planCluster(
  addons: AddonCatalog,
  engineName: string,
  name: string,
  namespace: string,
  flags: ClusterFlags,
): ClusterPlan {
  const { addon, clusterDefinition } = addons.engine(engineName);
  checkClusterName(name);
  const topologies = clusterDefinition.spec.topologies;
  const topology = flags.topology
    ? topologies.find((t) => t.name === flags.topology)
    : (topologies.find((t) => t.default) ?? topologies[0]);
  if (!topology) {
    throw new UsageError(
      `--topology ${flags.topology}: not a topology of ${engineName}; choose one of ${quoteList(topologies.map((t) => t.name))}`,
    );
  }
  const policy = terminationPolicy.safeParse(flags.terminationPolicy ?? "Delete");
  if (!policy.success) {
    throw new UsageError(
      `--termination-policy ${flags.terminationPolicy}: choose one of ${quoteList(terminationPolicy.options)}`,
    );
  }
  for (const [flag, value] of [
    ["--cpu", flags.cpu],
    ["--memory", flags.memory],
    ["--storage", flags.storage],
  ] as const) {
    if (value !== undefined && !quantity.safeParse(value).success) {
      throw new UsageError(
        `${flag} ${value}: not a Kubernetes quantity (e.g. 500m or 2 for CPU, 512Mi or 1Gi)`,
      );
    }
  }
  const sized = primaryComponent(addon, topology);
  const componentSpecs = topology.components.map((entry) => {
    const isSized = entry.name === sized;
    const compDef = chooseDefinition(addons, entry.compDef, isSized ? flags.version : undefined, engineName);
    const limit = compDef.spec.replicasLimit;
    const minimum = Math.max(limit?.minReplicas ?? 1, 1);
    const replicas = isSized ? (flags.replicas ?? minimum) : minimum;
    if (isSized && limit && (replicas < limit.minReplicas || replicas > limit.maxReplicas)) {
      throw new UsageError(
        `--replicas ${replicas}: ${engineName} allows ${limit.minReplicas} to ${limit.maxReplicas} replicas of ${entry.name}`,
      );
    }
    const spec: ClusterComponentSpec = { name: entry.name, replicas };
    if (isSized && flags.version) {
      spec.serviceVersion = flags.version;
      if (addons.catalog.componentDefinition(entry.compDef).metadata.name !== compDef.metadata.name)
        spec.componentDef = compDef.metadata.name;
    }
    if (isSized && (flags.cpu || flags.memory)) {
      const resources = {
        ...(flags.cpu ? { cpu: flags.cpu } : {}),
        ...(flags.memory ? { memory: flags.memory } : {}),
      };
      spec.resources = { requests: resources, limits: resources };
    }
    const storage = (isSized ? flags.storage : undefined) ?? DEFAULT_STORAGE;
    const volumes = compDef.spec.volumes ?? [];
    if (volumes.length > 0) {
      spec.volumeClaimTemplates = volumes.map((volume) => ({
        name: volume.name,
        spec: {
          ...(flags.storageClass ? { storageClassName: flags.storageClass } : {}),
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage } },
        },
      }));
    } else if (isSized && flags.storage) {
      throw new UsageError(`--storage: ${entry.name} of ${engineName} keeps no volumes`);
    }
    return { spec, compDef };
  });
  const cluster: Cluster = {
    apiVersion: API_VERSION,
    kind: "Cluster",
    metadata: { name, namespace },
    spec: {
      clusterDef: clusterDefinition.metadata.name,
      topology: topology.name,
      terminationPolicy: policy.data,
      componentSpecs: componentSpecs.map((c) => c.spec),
    },
  };
  const problems = validateCluster(addons.catalog, cluster);
  if (problems.length > 0) throw new UsageError(problems.join("; "));
  const main = componentSpecs.find((c) => c.spec.name === sized)!;
  const version =
    main.spec.serviceVersion ?? addons.catalog.release(main.compDef.metadata.name!, undefined).serviceVersion;
  return {
    cluster,
    summary: `${engineName}/${topology.name}: ${sized} ${version} × ${main.spec.replicas}`,
  };
}

/**
 * The ComponentDefinition for a topology entry (a name or a version
 * prefix): the newest match, or with --version the newest match that
 * offers that service version.
 */
function chooseDefinition(
  addons: AddonCatalog,
  reference: string,
  version: string | undefined,
  engineName: string,
): ComponentDefinition {
  if (!version) return addons.catalog.componentDefinition(reference);
  const candidates = definitionsFor(addons.componentDefinitions, reference);
  const offering = candidates.find((d) =>
    addons.catalog.releases(d.metadata.name!).some((r) => r.serviceVersion === version),
  );
  if (offering) return offering;
  const offered = [
    ...new Set(
      candidates.flatMap((d) => addons.catalog.releases(d.metadata.name!).map((r) => r.serviceVersion)),
    ),
  ];
  throw new UsageError(`--version ${version}: ${engineName} offers ${quoteList(offered)}`);
}
