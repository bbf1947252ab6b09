import { API_VERSION, labels, type Cluster, type Component, type InstanceSet, names } from "@tessera/api";
import { ApiError } from "@tessera/kube";
import { notInstalled } from "../not-installed.js";
import type { OutputFormat } from "../options.js";
import { age, print, serialize, table, withoutManagedFields } from "../output.js";
import type { Session } from "../session.js";
import { phaseHealth } from "./common.js";

export interface ListOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output: OutputFormat;
}

export async function listClusters(session: Session, options: ListOptions): Promise<void> {
  const conn = await session.kube();
  const namespace = options.allNamespaces ? undefined : (options.namespace ?? conn.namespace);
  const [clusters, components, sets] = await Promise.all([
    conn.client.list<Cluster>(API_VERSION, "Cluster", { namespace }),
    conn.client.list<Component>(API_VERSION, "Component", { namespace }),
    conn.client.list<InstanceSet>(API_VERSION, "InstanceSet", { namespace }),
  ]).catch((error: unknown) => {
    if (error instanceof ApiError && error.statusCode === 404) throw notInstalled(conn.server);
    throw error;
  });
  if (options.output !== "table") {
    print(serialize(clusters.items.map(withoutManagedFields), options.output));
    return;
  }
  if (clusters.items.length === 0) {
    const where = namespace ? `in namespace ${namespace}` : "in any namespace";
    process.stderr.write(
      `no clusters ${where}; create one with \`tessera cluster create <engine> <name>\` (engines: \`tessera addon list\`)\n`,
    );
    return;
  }
  const style = session.style;
  const rows = clusters.items
    .sort((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace}/${b.metadata.name}`,
      ),
    )
    .map((cluster) => {
      const { name, namespace: ns } = cluster.metadata;
      const own = <T extends Component | InstanceSet>(items: T[]) =>
        items.filter((o) => o.metadata.namespace === ns && o.metadata.labels?.[labels.cluster] === name);
      const ownSets = own(sets.items);
      const ready = ownSets.reduce((sum, s) => sum + (s.status?.readyReplicas ?? 0), 0);
      const desired = ownSets.reduce((sum, s) => sum + s.spec.replicas, 0);
      const first = cluster.spec.componentSpecs[0]!;
      const version = own(components.items).find(
        (c) => c.metadata.name === names.component(name!, first.name),
      )?.status?.serviceVersion;
      const phase = cluster.status?.phase;
      const row = [
        name!,
        cluster.spec.clusterDef ?? first.componentDef ?? "-",
        cluster.spec.topology ?? "-",
        version ?? first.serviceVersion ?? "-",
        `${ready}/${desired}`,
        style.state(phase ?? "Pending", phaseHealth(phase)),
        age(cluster.metadata.creationTimestamp),
      ];
      return options.allNamespaces ? [ns!, ...row] : row;
    });
  const head = ["name", "engine", "topology", "version", "ready", "status", "age"];
  print(table(style, options.allNamespaces ? ["namespace", ...head] : head, rows));
}
