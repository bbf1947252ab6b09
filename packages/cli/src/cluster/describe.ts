import type { CoreV1Event, V1Pod, V1Service } from "@kubernetes/client-node";
import {
  API_VERSION,
  labels,
  type BackupSchedule,
  type Cluster,
  type ClusterPhase,
  type Component,
  type ComponentDefinition,
  type Condition,
  type HAStatus,
  type InstanceSet,
} from "@tessera/api";
import { recentEvents, renderEvents, type EventView } from "../events.js";
import type { OutputFormat } from "../options.js";
import { age, fields, print, serialize, table, timestamp } from "../output.js";
import type { Session } from "../session.js";
import type { Style } from "../style.js";
import { backupsView, renderBackups, type BackupsView } from "./backups-section.js";
import { clusterSelector, findCluster, phaseHealth } from "./common.js";

export interface DescribeOptions {
  namespace?: string;
  output: OutputFormat;
}

interface InstanceView {
  name: string;
  role: string;
  status: string;
  ready: boolean;
  restarts: number;
  node: string;
  ip: string;
  created?: string;
}

interface ComponentView {
  name: string;
  definition: string;
  serviceVersion?: string;
  replicas: number;
  phase?: ClusterPhase;
  message?: string;
  haMode?: string;
  ha?: HAStatus;
  instances: InstanceView[];
}

interface EndpointView {
  component: string;
  service: string;
  type: string;
  clusterIP: string;
  ports: string;
  serves: string;
}

interface ConditionView extends Condition {
  object: string;
}

/** Everything `cluster describe` shows; also its JSON/YAML output. */
interface ClusterDescription {
  name: string;
  namespace: string;
  engine?: string;
  topology?: string;
  terminationPolicy: string;
  phase?: ClusterPhase;
  message?: string;
  created?: string;
  components: ComponentView[];
  endpoints: EndpointView[];
  /** Backup settings, the last backup and the recoverable range, when the cluster has any. */
  backups?: BackupsView;
  conditions: ConditionView[];
  events: EventView[];
}

export async function describeCluster(
  session: Session,
  name: string,
  options: DescribeOptions,
): Promise<void> {
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const cluster = await findCluster(conn, namespace, name);
  const selector = { namespace, labelSelector: clusterSelector(name) };
  const client = conn.client;
  const [components, sets, pods, services, events, schedules] = await Promise.all([
    client.list<Component>(API_VERSION, "Component", selector),
    client.list<InstanceSet>(API_VERSION, "InstanceSet", selector),
    client.list<V1Pod>("v1", "Pod", selector),
    client.list<V1Service>("v1", "Service", selector),
    client.list<CoreV1Event>("v1", "Event", { namespace }),
    client.list<BackupSchedule>(API_VERSION, "BackupSchedule", { namespace }),
  ]);
  const definitions = new Map<string, ComponentDefinition>();
  for (const compDef of new Set(components.items.map((c) => c.spec.compDef))) {
    const found = await client.find<ComponentDefinition>({
      apiVersion: API_VERSION,
      kind: "ComponentDefinition",
      name: compDef,
    });
    if (found) definitions.set(compDef, found);
  }
  const description = describe(
    cluster,
    components.items,
    sets.items,
    pods.items,
    services.items,
    events.items,
    definitions,
    schedules.items,
  );
  if (options.output !== "table") print(serialize(description, options.output));
  else print(render(session.style, description));
}

function shortName(cluster: string, component: string): string {
  return component.startsWith(`${cluster}-`) ? component.slice(cluster.length + 1) : component;
}

function describe(
  cluster: Cluster,
  components: Component[],
  sets: InstanceSet[],
  pods: V1Pod[],
  services: V1Service[],
  events: CoreV1Event[],
  definitions: Map<string, ComponentDefinition>,
  schedules: BackupSchedule[],
): ClusterDescription {
  const name = cluster.metadata.name!;
  const componentViews = components
    .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!))
    .map((component): ComponentView => {
      const instances = pods
        .filter((p) => p.metadata?.labels?.[labels.component] === component.metadata.name)
        .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!, undefined, { numeric: true }))
        .map(instanceView);
      const set = sets.find((s) => s.metadata.name === component.metadata.name);
      return {
        name: shortName(name, component.metadata.name!),
        definition: component.spec.compDef,
        serviceVersion: component.status?.serviceVersion ?? component.spec.serviceVersion,
        replicas: set?.spec.replicas ?? component.spec.replicas,
        phase: component.status?.phase,
        message: component.status?.message,
        haMode: definitions.get(component.spec.compDef)?.spec.haMode,
        ha: component.status?.ha,
        instances,
      };
    });
  const endpoints = services
    .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!))
    .map((service): EndpointView => {
      const role = service.spec?.selector?.[labels.role];
      const headless = service.spec?.clusterIP === "None";
      return {
        component: shortName(name, service.metadata?.labels?.[labels.component] ?? ""),
        service: service.metadata!.name!,
        type: headless ? "Headless" : (service.spec?.type ?? "ClusterIP"),
        clusterIP: service.spec?.clusterIP ?? "-",
        ports: (service.spec?.ports ?? [])
          .map((p) => (p.name ? `${p.name}:${p.port}` : String(p.port)))
          .join(","),
        serves: role ? `${role} only` : headless ? "each instance by name" : "every ready instance",
      };
    });
  const conditions: ConditionView[] = [
    ...(cluster.status?.conditions ?? []).map((c) => ({ ...c, object: `Cluster ${name}` })),
    ...components.flatMap((component) =>
      (component.status?.conditions ?? []).map((c) => ({
        ...c,
        object: `Component ${shortName(name, component.metadata.name!)}`,
      })),
    ),
  ];
  const related = new Set([
    name,
    ...components.map((c) => c.metadata.name!),
    ...sets.map((s) => s.metadata.name!),
    ...pods.map((p) => p.metadata!.name!),
  ]);
  return {
    name,
    namespace: cluster.metadata.namespace!,
    engine: cluster.spec.clusterDef,
    topology: cluster.spec.topology,
    terminationPolicy: cluster.spec.terminationPolicy,
    phase: cluster.status?.phase,
    message: cluster.status?.message,
    created: timestamp(cluster.metadata.creationTimestamp),
    components: componentViews,
    endpoints,
    backups: backupsView(cluster, schedules),
    conditions,
    events: recentEvents(events, (object) => related.has(object.name ?? "")),
  };
}

function instanceView(pod: V1Pod): InstanceView {
  const statuses = pod.status?.containerStatuses ?? [];
  const ready = statuses.length > 0 && statuses.every((s) => s.ready);
  const waiting = statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason;
  let status = pod.status?.phase ?? "Pending";
  if (pod.metadata?.deletionTimestamp) status = "Terminating";
  else if (waiting) status = waiting;
  else if (status === "Running" && !ready) status = "Running, not ready";
  return {
    name: pod.metadata!.name!,
    role: pod.metadata?.labels?.[labels.role] || "-",
    status,
    ready,
    restarts: statuses.reduce((sum, s) => sum + s.restartCount, 0),
    node: pod.spec?.nodeName ?? "-",
    ip: pod.status?.podIP ?? "-",
    created: timestamp(pod.metadata?.creationTimestamp),
  };
}

function instanceHealth(instance: InstanceView): "good" | "bad" | "pending" {
  if (instance.ready) return "good";
  return ["Pending", "Running, not ready", "ContainerCreating", "Terminating"].includes(instance.status)
    ? "pending"
    : "bad";
}

function render(style: Style, d: ClusterDescription): string {
  const sections: string[] = [];
  sections.push(
    fields(style, [
      ["Name", d.name],
      ["Namespace", d.namespace],
      ["Engine", `${d.engine ?? "-"}${d.topology ? ` (topology ${d.topology})` : ""}`],
      [
        "Status",
        `${style.state(d.phase ?? "Pending", phaseHealth(d.phase))}${d.message ? ` (${d.message})` : ""}`,
      ],
      ["Termination", d.terminationPolicy],
      ["Age", age(d.created)],
    ]),
  );
  for (const c of d.components) {
    const heading = `${style.bold(`Component ${c.name}`)}: ${c.definition}, version ${c.serviceVersion ?? "-"}, ${c.replicas} replicas, ${c.phase ?? "Pending"}`;
    const lines = [heading];
    if (c.haMode && c.haMode !== "none") {
      const parts = [
        `HA ${c.haMode === "operator" ? "arbitrated by the operator" : "decided by the engine"}`,
      ];
      if (c.ha) parts.push(`primary ${c.ha.primary ?? "none"}`, `epoch ${c.ha.epoch}`);
      if (c.ha?.lastFailover)
        parts.push(
          `last failover ${c.ha.lastFailover.from} → ${c.ha.lastFailover.to} ${age(c.ha.lastFailover.at)} ago (${c.ha.lastFailover.reason})`,
        );
      lines.push(parts.join(", "));
    }
    lines.push(
      c.instances.length
        ? table(
            style,
            ["instance", "role", "status", "restarts", "node", "ip", "age"],
            c.instances.map((i) => [
              i.name,
              i.role,
              style.state(i.status, instanceHealth(i)),
              String(i.restarts),
              i.node,
              i.ip,
              age(i.created),
            ]),
          )
        : style.dim("no instances"),
    );
    sections.push(lines.join("\n"));
  }
  sections.push(
    `${style.bold("Endpoints")}\n${
      d.endpoints.length
        ? table(
            style,
            ["component", "service", "type", "cluster-ip", "ports", "serves"],
            d.endpoints.map((e) => [e.component, e.service, e.type, e.clusterIP, e.ports, e.serves]),
          )
        : style.dim("none yet")
    }`,
  );
  if (d.backups) sections.push(renderBackups(style, d.backups));
  sections.push(
    `${style.bold("Conditions")}\n${
      d.conditions.length
        ? table(
            style,
            ["object", "type", "status", "reason", "message", "age"],
            d.conditions.map((c) => [
              c.object,
              c.type,
              style.state(c.status, c.status === "True" ? "good" : c.status === "False" ? "bad" : "pending"),
              c.reason,
              c.message,
              age(c.lastTransitionTime),
            ]),
          )
        : style.dim("none yet")
    }`,
  );
  sections.push(renderEvents(style, d.events));
  return sections.join("\n\n");
}
