import type { V1ConfigMap, V1Container, V1Pod, V1Secret, V1Service } from "@kubernetes/client-node";
import { parseQuantity } from "@tessera/base";
import { expandVariables } from "./expand.js";

/** What env resolution needs to know beyond the pod itself. */
export interface EnvContext {
  podIP: string;
  hostIP: string;
  /** Used for resourceFieldRef when the container sets no limit. */
  nodeAllocatable: { cpu: number; memory: number };
  getConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  getSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** Services of the pod's namespace, for the `<NAME>_SERVICE_HOST` variables. */
  services: V1Service[];
}

export class EnvResolutionError extends Error {
  constructor(
    readonly reason: "CreateContainerConfigError",
    message: string,
  ) {
    super(message);
    this.name = "EnvResolutionError";
  }
}

/** The value of a pod field reference such as `metadata.labels['app']` or `status.podIP`. */
export function podFieldValue(pod: V1Pod, fieldPath: string, context: Pick<EnvContext, "podIP" | "hostIP">) {
  const meta = pod.metadata ?? {};
  const mapMatch = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (mapMatch) return (meta[mapMatch[1] as "labels" | "annotations"] ?? {})[mapMatch[2]!] ?? "";
  switch (fieldPath) {
    case "metadata.name":
      return meta.name ?? "";
    case "metadata.namespace":
      return meta.namespace ?? "";
    case "metadata.uid":
      return meta.uid ?? "";
    case "metadata.labels":
      return formatMap(meta.labels);
    case "metadata.annotations":
      return formatMap(meta.annotations);
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.hostIP":
      return context.hostIP;
    case "status.podIP":
    case "status.podIPs":
      return context.podIP;
    default:
      throw new EnvResolutionError("CreateContainerConfigError", `unsupported fieldRef ${fieldPath}`);
  }
}

/** The downward API's `key="value"` lines, sorted by key. */
export function formatMap(map: Record<string, string> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((key) => `${key}=${JSON.stringify(map![key])}`)
    .join("\n");
}

/** A container resource as the downward API reports it: limits fall back to node allocatable. */
export function resourceFieldValue(
  container: V1Container,
  resource: string,
  divisor: string | undefined,
  allocatable: EnvContext["nodeAllocatable"],
): string {
  const [kind, name] = resource.split(".") as ["limits" | "requests", string];
  const declared = container.resources?.[kind]?.[name];
  let value: number;
  if (declared !== undefined) value = parseQuantity(declared);
  else if (name === "cpu") value = kind === "limits" ? allocatable.cpu : 0;
  else if (name === "memory") value = kind === "limits" ? allocatable.memory : 0;
  else value = 0;
  const by = divisor ? parseQuantity(divisor) : 1;
  return String(Math.ceil(value / by));
}

/** Docker-link style variables for the services of the pod's namespace (enableServiceLinks). */
export function serviceVariables(services: V1Service[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const service of services) {
    const ip = service.spec?.clusterIP;
    const ports = service.spec?.ports ?? [];
    if (!ip || ip === "None" || ports.length === 0) continue;
    const prefix = service.metadata!.name!.toUpperCase().replace(/-/g, "_");
    vars[`${prefix}_SERVICE_HOST`] = ip;
    vars[`${prefix}_SERVICE_PORT`] = String(ports[0]!.port);
    for (const port of ports) {
      if (port.name)
        vars[`${prefix}_SERVICE_PORT_${port.name.toUpperCase().replace(/-/g, "_")}`] = String(port.port);
    }
  }
  return vars;
}

/** Every ConfigMap and Secret the container's environment names, fetched side by side. */
async function fetchReferenced(container: V1Container, namespace: string, context: EnvContext) {
  const configMapNames = new Set<string>();
  const secretNames = new Set<string>();
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef?.name) configMapNames.add(source.configMapRef.name);
    if (source.secretRef?.name) secretNames.add(source.secretRef.name);
  }
  for (const entry of container.env ?? []) {
    if (entry.valueFrom?.configMapKeyRef?.name) configMapNames.add(entry.valueFrom.configMapKeyRef.name);
    if (entry.valueFrom?.secretKeyRef?.name) secretNames.add(entry.valueFrom.secretKeyRef.name);
  }
  const fetchAll = async <T>(names: Set<string>, get: (name: string) => Promise<T>) =>
    new Map(await Promise.all([...names].map(async (name) => [name, await get(name)] as const)));
  const [configMaps, secrets] = await Promise.all([
    fetchAll(configMapNames, (name) => context.getConfigMap(namespace, name)),
    fetchAll(secretNames, (name) => context.getSecret(namespace, name)),
  ]);
  return { configMaps, secrets };
}

/**
 * Resolves a container's environment the way the kubelet does: service
 * variables, then envFrom sources in order, then env entries, each entry
 * able to reference the ones defined before it with `$(VAR)`.
 */
export async function resolveEnvironment(
  pod: V1Pod,
  container: V1Container,
  context: EnvContext,
): Promise<Record<string, string>> {
  const namespace = pod.metadata!.namespace!;
  const { configMaps, secrets } = await fetchReferenced(container, namespace, context);
  const env: Record<string, string> =
    pod.spec?.enableServiceLinks === false
      ? {}
      : serviceVariables(context.services.filter((s) => s.metadata?.namespace === namespace));
  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? "";
    if (source.configMapRef) {
      const ref = source.configMapRef;
      const map = configMaps.get(ref.name!);
      if (!map && !ref.optional) throw missing("configmap", ref.name!);
      for (const [key, value] of Object.entries(map?.data ?? {})) env[prefix + key] = value;
    }
    if (source.secretRef) {
      const ref = source.secretRef;
      const secret = secrets.get(ref.name!);
      if (!secret && !ref.optional) throw missing("secret", ref.name!);
      for (const [key, value] of Object.entries(secret?.data ?? {})) env[prefix + key] = decode(value);
    }
  }
  for (const entry of container.env ?? []) {
    const from = entry.valueFrom;
    if (!from) {
      env[entry.name] = expandVariables(entry.value ?? "", (name) => env[name]);
    } else if (from.fieldRef) {
      env[entry.name] = podFieldValue(pod, from.fieldRef.fieldPath, context);
    } else if (from.resourceFieldRef) {
      const ref = from.resourceFieldRef;
      const target = ref.containerName
        ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
            (c) => c.name === ref.containerName,
          )
        : container;
      env[entry.name] = resourceFieldValue(
        target ?? container,
        ref.resource,
        ref.divisor === undefined ? undefined : String(ref.divisor),
        context.nodeAllocatable,
      );
    } else if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const value = configMaps.get(ref.name!)?.data?.[ref.key];
      if (value !== undefined) env[entry.name] = value;
      else if (!ref.optional) throw missing(`configmap key ${ref.key} in`, ref.name!);
    } else if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      const value = secrets.get(ref.name!)?.data?.[ref.key];
      if (value !== undefined) env[entry.name] = decode(value);
      else if (!ref.optional) throw missing(`secret key ${ref.key} in`, ref.name!);
    }
  }
  return env;
}

/** command + args after `$(VAR)` expansion against the container's environment. */
export function expandCommand(words: string[] | undefined, env: Record<string, string>): string[] {
  return (words ?? []).map((word) => expandVariables(word, (name) => env[name]));
}

function decode(base64: string): string {
  return Buffer.from(base64, "base64").toString("utf8");
}

function missing(what: string, name: string): EnvResolutionError {
  return new EnvResolutionError("CreateContainerConfigError", `${what} "${name}" not found`);
}
