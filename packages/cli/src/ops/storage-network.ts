import { exposedServiceType, type Cluster, type ExposeSpec } from "@tessera/api";
import { UsageError, quoteList } from "../errors.js";
import type { Session } from "../session.js";
import { chooseComponent, submit, type OperationOptions } from "./submit.js";

export interface RebuildOptions extends OperationOptions {
  component?: string;
  instance?: string[];
}

export interface ExpandOptions extends OperationOptions {
  component?: string;
  volume?: string[];
}

export interface ExposeOptions extends OperationOptions {
  component?: string;
  type?: string;
  role?: string;
  name?: string;
  disable?: boolean;
}

/** The component an instance (pod `<cluster>-<component>-<n>`) belongs to: the longest component name that fits. */
function componentOfInstance(cluster: Cluster, instance: string): string {
  const prefix = `${cluster.metadata.name}-`;
  const found = cluster.spec.componentSpecs
    .map((c) => c.name)
    .filter((c) => instance.startsWith(`${prefix}${c}-`))
    .sort((a, b) => b.length - a.length)[0];
  if (!found)
    throw new UsageError(
      `${instance} is not an instance of cluster ${cluster.metadata.name} (its instances are named ${prefix}<component>-<n>); see \`tessera cluster describe ${cluster.metadata.name}\``,
    );
  return found;
}

/** Each --instance, grouped by the component it belongs to (or --component). */
export function rebuildCluster(session: Session, name: string, options: RebuildOptions) {
  if (!options.instance?.length) throw new UsageError("name the instance to rebuild with --instance <pod>");
  return submit(
    session,
    name,
    async (cluster) => {
      const byComponent = new Map<string, string[]>();
      for (const instance of options.instance!) {
        const component = options.component ?? componentOfInstance(cluster, instance);
        byComponent.set(component, [...(byComponent.get(component) ?? []), instance]);
      }
      return {
        type: "RebuildInstance",
        rebuildInstance: [...byComponent].map(([componentName, instances]) => ({ componentName, instances })),
      };
    },
    options,
  );
}

/** `data=20Gi` pairs of --volume. */
export function parseVolumes(volumes: string[]): { name: string; storage: string }[] {
  return volumes.map((volume) => {
    const [name, storage, ...rest] = volume.split("=");
    if (!name || !storage || rest.length)
      throw new UsageError(`--volume ${volume}: expected <volume>=<size>, e.g. --volume data=20Gi`);
    return { name, storage };
  });
}

export function expandCluster(session: Session, name: string, options: ExpandOptions) {
  if (!options.volume?.length)
    throw new UsageError("nothing to expand: give --volume <volume>=<size>, e.g. data=20Gi");
  const volumeClaimTemplates = parseVolumes(options.volume);
  return submit(
    session,
    name,
    async (cluster, conn) => ({
      type: "VolumeExpansion",
      volumeExpansion: [
        { componentName: await chooseComponent(conn, cluster, options.component), volumeClaimTemplates },
      ],
    }),
    options,
  );
}

/** The service's name when --name is not given: `ext`, or `ext-<role>` for one role. */
export function exposedName(role: string | undefined): string {
  return role ? `ext-${role}` : "ext";
}

export function exposeCluster(session: Session, name: string, options: ExposeOptions) {
  const types = exposedServiceType.options;
  const serviceType = types.find((t) => t.toLowerCase() === options.type?.toLowerCase());
  if (!options.disable && !serviceType)
    throw new UsageError(
      `--type: choose one of ${quoteList(types)}${options.type ? ` (not "${options.type}")` : ""}`,
    );
  const service: ExposeSpec["services"][number] = {
    name: options.name ?? exposedName(options.role),
    ...(options.disable ? {} : { serviceType }),
    ...(options.role ? { roleSelector: options.role } : {}),
  };
  return submit(
    session,
    name,
    async (cluster, conn) => ({
      type: "Expose",
      expose: [
        {
          componentName: await chooseComponent(conn, cluster, options.component),
          switch: options.disable ? "Disable" : "Enable",
          services: [service],
        },
      ],
    }),
    options,
  );
}
