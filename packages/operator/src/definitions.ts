import {
  compareVersions,
  definitionsFor,
  matchesDefinition,
  type ClusterDefinition,
  type ComponentDefinition,
  type ComponentVersion,
  type Release,
  type Topology,
  type Cluster,
} from "@tessera/api";

/** A definition lookup failure that users can act on; its message names the field and the choices. */
export class DefinitionError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "DefinitionError";
  }
}

/** Read access to the installed addon definitions (backed by informers in the operator). */
export interface DefinitionSource {
  clusterDefinitions(): ClusterDefinition[];
  componentDefinitions(): ComponentDefinition[];
  componentVersions(): ComponentVersion[];
  /** Calls the listener whenever any definition is added, changed or removed. */
  onChange?(listener: () => void): void;
}

export class DefinitionCatalog {
  constructor(private readonly source: DefinitionSource) {}

  /** Runs the listener after every definition change (clusters waiting for an addon retry). */
  onChange(listener: () => void): void {
    this.source.onChange?.(listener);
  }

  clusterDefinition(name: string): ClusterDefinition {
    const found = this.source.clusterDefinitions().find((d) => d.metadata.name === name);
    if (!found) {
      const known = this.source.clusterDefinitions().map((d) => d.metadata.name);
      throw new DefinitionError(
        "ClusterDefinitionNotFound",
        `spec.clusterDef: ClusterDefinition "${name}" not found; installed: ${quotedList(known)}`,
      );
    }
    return found;
  }

  topology(clusterDef: ClusterDefinition, name?: string): Topology {
    const topologies = clusterDef.spec.topologies;
    const found = name
      ? topologies.find((t) => t.name === name)
      : (topologies.find((t) => t.default) ?? topologies[0]);
    if (!found) {
      throw new DefinitionError(
        "TopologyNotFound",
        `spec.topology: "${name}" is not a topology of ClusterDefinition "${clusterDef.metadata.name}"; allowed: ${quotedList(topologies.map((t) => t.name))}`,
      );
    }
    return found;
  }

  /** Resolves a ComponentDefinition by exact name, else the newest whose name starts with the prefix. */
  componentDefinition(nameOrPrefix: string, field = "componentDef"): ComponentDefinition {
    const all = this.source.componentDefinitions();
    const chosen = definitionsFor(all, nameOrPrefix)[0];
    if (chosen) return chosen;
    throw new DefinitionError(
      "ComponentDefinitionNotFound",
      `${field}: no ComponentDefinition named or prefixed "${nameOrPrefix}"; installed: ${quotedList(all.map((d) => d.metadata.name))}`,
    );
  }

  /** Releases usable with a ComponentDefinition, newest service version first. */
  releases(compDefName: string): Release[] {
    const releases: Release[] = [];
    for (const version of this.source.componentVersions()) {
      const allowed = new Set<string>();
      for (const rule of version.spec.compatibilityRules) {
        if (rule.compDefs.some((p) => matchesDefinition(compDefName, p))) {
          for (const r of rule.releases) allowed.add(r);
        }
      }
      releases.push(...version.spec.releases.filter((r) => allowed.has(r.name)));
    }
    return releases.sort((a, b) => compareVersions(b.serviceVersion, a.serviceVersion));
  }

  /** The release for a requested service version (the newest when none is requested). */
  release(compDefName: string, serviceVersion: string | undefined, field = "serviceVersion"): Release {
    const releases = this.releases(compDefName);
    const found = serviceVersion ? releases.find((r) => r.serviceVersion === serviceVersion) : releases[0];
    if (!found) {
      throw new DefinitionError(
        "ServiceVersionNotOffered",
        serviceVersion
          ? `${field}: "${serviceVersion}" is not offered for ComponentDefinition "${compDefName}"; offered: ${quotedList(releases.map((r) => r.serviceVersion))}`
          : `${field}: no ComponentVersion offers a release for ComponentDefinition "${compDefName}"`,
      );
    }
    return found;
  }
}

export interface ResolvedComponent {
  /** Component name in the cluster, as in the topology. */
  name: string;
  compDef: ComponentDefinition;
  release: Release;
  /** Index into cluster.spec.componentSpecs. */
  specIndex: number;
}

export interface ResolvedCluster {
  topology?: Topology;
  components: ResolvedComponent[];
}

/**
 * Resolves every component of a cluster to its definition and release, or
 * throws a DefinitionError naming the offending field.
 */
export function resolveCluster(catalog: DefinitionCatalog, cluster: Pick<Cluster, "spec">): ResolvedCluster {
  const spec = cluster.spec;
  if (spec.clusterDef) {
    const clusterDef = catalog.clusterDefinition(spec.clusterDef);
    const topology = catalog.topology(clusterDef, spec.topology);
    const allowed = topology.components.map((c) => c.name);
    const components: ResolvedComponent[] = [];
    spec.componentSpecs.forEach((componentSpec, i) => {
      const entry = topology.components.find((c) => c.name === componentSpec.name);
      if (!entry) {
        throw new DefinitionError(
          "ComponentNotInTopology",
          `spec.componentSpecs[${i}].name: "${componentSpec.name}" is not a component of topology "${topology.name}"; allowed: ${quotedList(allowed)}`,
        );
      }
      const compDef = catalog.componentDefinition(
        componentSpec.componentDef ?? entry.compDef,
        `spec.componentSpecs[${i}].componentDef`,
      );
      const release = catalog.release(
        compDef.metadata.name!,
        componentSpec.serviceVersion,
        `spec.componentSpecs[${i}].serviceVersion`,
      );
      components.push({ name: componentSpec.name, compDef, release, specIndex: i });
    });
    const missing = allowed.filter((name) => !spec.componentSpecs.some((c) => c.name === name));
    if (missing.length > 0) {
      throw new DefinitionError(
        "ComponentMissing",
        `spec.componentSpecs: topology "${topology.name}" needs components ${quotedList(missing)}`,
      );
    }
    return { topology, components };
  }
  if (spec.topology) {
    throw new DefinitionError(
      "TopologyWithoutClusterDef",
      "spec.topology: set spec.clusterDef to use a topology",
    );
  }
  return {
    components: spec.componentSpecs.map((componentSpec, i) => {
      if (!componentSpec.componentDef) {
        throw new DefinitionError(
          "ComponentDefMissing",
          `spec.componentSpecs[${i}].componentDef: required when spec.clusterDef is not set`,
        );
      }
      const compDef = catalog.componentDefinition(
        componentSpec.componentDef,
        `spec.componentSpecs[${i}].componentDef`,
      );
      const release = catalog.release(
        compDef.metadata.name!,
        componentSpec.serviceVersion,
        `spec.componentSpecs[${i}].serviceVersion`,
      );
      return { name: componentSpec.name, compDef, release, specIndex: i };
    }),
  };
}

/**
 * Turns a topology order (stages of comma-separated names) into stages of
 * component names; components the order does not mention form a last stage.
 */
export function orderStages(order: string[] | undefined, components: string[]): string[][] {
  if (!order || order.length === 0) return [components];
  const stages = order.map((stage) =>
    stage
      .split(",")
      .map((s) => s.trim())
      .filter((name) => components.includes(name)),
  );
  const mentioned = new Set(stages.flat());
  const rest = components.filter((c) => !mentioned.has(c));
  return [...stages, ...(rest.length ? [rest] : [])].filter((s) => s.length > 0);
}

/** `"a", "b"` for messages that offer choices; `(none)` when there are none. */
export function quotedList(values: (string | undefined)[]): string {
  const shown = values.filter(Boolean);
  return shown.length ? shown.map((v) => `"${v}"`).join(", ") : "(none)";
}
