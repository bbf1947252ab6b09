import type { V1Pod, V1Service, V1ServicePort } from "@kubernetes/client-node";

export interface Endpoint {
  ip: string;
  port: number;
}

export interface ServiceRoute {
  /** `namespace/name:port` for comments and logs. */
  name: string;
  clusterIP: string;
  port: number;
  protocol: "TCP" | "UDP";
  endpoints: Endpoint[];
  /** The port on the node that also leads here (a NodePort or LoadBalancer service). */
  nodePort?: number;
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

function podIP(pod: V1Pod): string | undefined {
  return pod.status?.podIP || undefined;
}

export function selectorMatches(selector: Record<string, string> | undefined, pod: V1Pod): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** The pods a service selects that may receive traffic (or every live one with publishNotReadyAddresses). */
export function servicePods(service: V1Service, pods: V1Pod[], includeNotReady = false): V1Pod[] {
  const namespace = service.metadata?.namespace;
  return pods.filter(
    (pod) =>
      pod.metadata?.namespace === namespace &&
      !pod.metadata?.deletionTimestamp &&
      podIP(pod) &&
      selectorMatches(service.spec?.selector, pod) &&
      (includeNotReady || service.spec?.publishNotReadyAddresses || isPodReady(pod)),
  );
}

/** A service port's target in one pod: a number, or a container port looked up by name. */
export function resolveTargetPort(port: V1ServicePort, pod: V1Pod): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const container of pod.spec?.containers ?? []) {
    const found = container.ports?.find(
      (p) => p.name === target && (p.protocol ?? "TCP") === (port.protocol ?? "TCP"),
    );
    if (found) return found.containerPort;
  }
  return undefined;
}

/**
 * Where each ClusterIP port should go: the ready pods the service selects.
 * The endpoints controllers are off in this control plane (the apiserver
 * refuses loopback endpoint addresses), so routes come from pods directly;
 * `default/kubernetes` goes to the apiserver.
 */
export function computeServiceRoutes(
  services: V1Service[],
  pods: V1Pod[],
  apiserver?: Endpoint,
): ServiceRoute[] {
  const routes: ServiceRoute[] = [];
  for (const service of services) {
    const clusterIP = service.spec?.clusterIP;
    if (!clusterIP || clusterIP === "None" || service.spec?.type === "ExternalName") continue;
    const { namespace, name } = service.metadata ?? {};
    const isApiserver = namespace === "default" && name === "kubernetes" && !service.spec?.selector;
    const selected = isApiserver ? [] : servicePods(service, pods);
    for (const port of service.spec?.ports ?? []) {
      const protocol = (port.protocol ?? "TCP") as "TCP" | "UDP";
      if (protocol !== "TCP" && protocol !== "UDP") continue;
      const endpoints: Endpoint[] = [];
      if (isApiserver && apiserver) endpoints.push(apiserver);
      for (const pod of selected) {
        const target = resolveTargetPort(port, pod);
        if (target !== undefined) endpoints.push({ ip: podIP(pod)!, port: target });
      }
      endpoints.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
      routes.push({
        name: `${namespace}/${name}:${port.port}`,
        clusterIP,
        port: port.port,
        protocol,
        endpoints,
        ...(port.nodePort ? { nodePort: port.nodePort } : {}),
      });
    }
  }
  return routes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
