import type { V1Pod, V1Service } from "@kubernetes/client-node";
import {
  API_VERSION,
  componentAccounts,
  isTerminalOpsPhase,
  labels,
  names,
  passwordCommand,
  type Cluster,
  type ComponentDefinition,
  type OpsRequest,
} from "@tessera/api";
import { ApiError, type KubeClient } from "@tessera/kube";

/** What the clusters list and the overview show of a cluster. */
export interface ClusterSummary {
  namespace: string;
  name: string;
  engine?: string;
  topology?: string;
  phase: string;
  message?: string;
  createdAt?: string;
}

export function summarize(cluster: Cluster): ClusterSummary {
  return {
    namespace: cluster.metadata.namespace!,
    name: cluster.metadata.name!,
    engine: cluster.status?.engine ?? cluster.spec.clusterDef,
    topology: cluster.spec.topology,
    phase: cluster.status?.phase ?? "Creating",
    message: cluster.status?.message,
    createdAt: cluster.metadata.creationTimestamp as string | undefined,
  };
}

export interface OperationSummary {
  namespace: string;
  name: string;
  cluster: string;
  type: string;
  phase: string;
  progress?: string;
  message?: string;
  createdAt?: string;
  steps: { name: string; phase: string; message?: string }[];
}

export function summarizeOps(ops: OpsRequest): OperationSummary {
  return {
    namespace: ops.metadata.namespace!,
    name: ops.metadata.name!,
    cluster: ops.spec.clusterName,
    type: ops.spec.type,
    phase: ops.status?.phase ?? "Pending",
    progress: ops.status?.progress,
    message: ops.status?.message,
    createdAt: ops.metadata.creationTimestamp as string | undefined,
    steps: (ops.status?.steps ?? []).map((s) => ({ name: s.name, phase: s.phase, message: s.message })),
  };
}

export async function listClusters(client: KubeClient, namespace?: string): Promise<ClusterSummary[]> {
  const list = await client.listAll<Cluster>(API_VERSION, "Cluster", { namespace });
  return list.items
    .map(summarize)
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export interface Overview {
  clustersByPhase: Record<string, number>;
  clusters: number;
  operationsInProgress: OperationSummary[];
  failing: ClusterSummary[];
}

/** Clusters by phase, the operations not yet finished and the clusters in trouble. */
export async function overview(client: KubeClient, namespace?: string): Promise<Overview> {
  const [clusters, ops] = await Promise.all([
    listClusters(client, namespace),
    client.listAll<OpsRequest>(API_VERSION, "OpsRequest", { namespace }),
  ]);
  const clustersByPhase: Record<string, number> = {};
  for (const c of clusters) clustersByPhase[c.phase] = (clustersByPhase[c.phase] ?? 0) + 1;
  return {
    clustersByPhase,
    clusters: clusters.length,
    operationsInProgress: ops.items.filter((o) => !isTerminalOpsPhase(o.status?.phase)).map(summarizeOps),
    failing: clusters.filter((c) => c.phase === "Failed" || c.phase === "Abnormal"),
  };
}

export interface Instance {
  name: string;
  component: string;
  role?: string;
  ready: boolean;
  phase?: string;
  ip?: string;
  /** Its containers, whose logs the page shows. */
  containers: string[];
}

export interface Endpoint {
  service: string;
  component?: string;
  /** The in-cluster DNS name and port, and the ClusterIP and port. */
  addresses: string[];
  /** What a client connects to: `account@host:port` for each account of the component, else `host:port`. */
  connections: string[];
}

/** A system account of a component; its password stays in its Secret, and the command reads it from there. */
export interface Account {
  component: string;
  username: string;
  secret: string;
  passwordCommand: string;
}

export interface ClusterDetail extends ClusterSummary {
  components: { name: string; phase?: string; message?: string; definition?: string; replicas?: number }[];
  instances: Instance[];
  conditions: {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    lastTransitionTime?: string;
  }[];
  endpoints: Endpoint[];
  /** The accounts of each component, unknown when the user may not read the definitions. */
  accounts: Account[];
  operations: OperationSummary[];
}

function instance(pod: V1Pod): Instance {
  return {
    name: pod.metadata!.name!,
    component: pod.metadata?.labels?.[labels.component] ?? "",
    role: pod.metadata?.labels?.[labels.role],
    ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    phase: pod.status?.phase,
    ip: pod.status?.podIP,
    containers: (pod.spec?.containers ?? []).map((c) => c.name),
  };
}

function endpoint(service: V1Service, accounts: Account[]): Endpoint {
  const { name, namespace } = service.metadata!;
  const component = service.metadata?.labels?.[labels.component];
  const ports = service.spec?.ports ?? [];
  const ip = service.spec?.clusterIP;
  const hosts = ports.map((p) => `${name}.${namespace}.svc.cluster.local:${p.port}`);
  const users = accounts.filter((a) => a.component === component).map((a) => `${a.username}@`);
  return {
    service: name!,
    component,
    addresses: [...hosts, ...(ip && ip !== "None" ? ports.map((p) => `${ip}:${p.port}`) : [])],
    connections: hosts.flatMap((host) => (users.length ? users.map((user) => user + host) : [host])),
  };
}

/**
 * The system accounts of the cluster's components, from the definitions the
 * operator resolved them to; none for a user who may not read definitions.
 */
async function accountsOf(client: KubeClient, cluster: Cluster): Promise<Account[]> {
  const namespace = cluster.metadata.namespace!;
  const components = Object.entries(cluster.status?.components ?? {}).filter(([, s]) => s.compDef);
  try {
    const lists = await Promise.all(
      components.map(async ([short, status]) => {
        const ref = { apiVersion: API_VERSION, kind: "ComponentDefinition", name: status.compDef! };
        const definition = await client.find<ComponentDefinition>(ref);
        const component = names.component(cluster.metadata.name!, short);
        return definition
          ? componentAccounts(component, definition).map((a) => ({
              component,
              ...a,
              passwordCommand: passwordCommand(namespace, a.secret),
            }))
          : [];
      }),
    );
    return lists.flat();
  } catch (error) {
    if (error instanceof ApiError && error.statusCode === 403) return [];
    throw error;
  }
}

/** A cluster with its components, instances and roles, conditions, endpoints and operations, all read as the user. */
export async function clusterDetail(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<ClusterDetail> {
  const cluster = await client.get<Cluster>({ apiVersion: API_VERSION, kind: "Cluster", namespace, name });
  const selector = { namespace, labelSelector: `${labels.cluster}=${name}` };
  const [pods, services, ops, accounts] = await Promise.all([
    client.listAll<V1Pod>("v1", "Pod", selector),
    client.listAll<V1Service>("v1", "Service", selector),
    client.listAll<OpsRequest>(API_VERSION, "OpsRequest", { namespace }),
    accountsOf(client, cluster),
  ]);
  const statuses = cluster.status?.components ?? {};
  return {
    ...summarize(cluster),
    components: cluster.spec.componentSpecs.map((spec) => ({
      name: spec.name,
      phase: statuses[spec.name]?.phase,
      message: statuses[spec.name]?.message,
      definition: statuses[spec.name]?.compDef,
      replicas: spec.replicas,
    })),
    instances: pods.items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map(instance)
      .sort((a, b) => a.name.localeCompare(b.name)),
    conditions: (cluster.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: c.lastTransitionTime as string | undefined,
    })),
    endpoints: services.items
      .filter((s) => s.spec?.clusterIP !== "None")
      .map((s) => endpoint(s, accounts))
      .sort((a, b) => a.service.localeCompare(b.service)),
    accounts,
    operations: ops.items
      .filter((o) => o.spec.clusterName === name)
      .map(summarizeOps)
      .sort((a, b) => (b.createdAt ?? "").localeCompare(a.createdAt ?? "") || a.name.localeCompare(b.name)),
  };
}
