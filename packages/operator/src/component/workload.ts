import type {
  V1ConfigMap,
  V1Container,
  V1EnvVar,
  V1PodSpec,
  V1Service,
  V1Volume,
} from "@kubernetes/client-node";
import {
  API_VERSION,
  MANAGED_BY,
  annotations,
  scrapeAnnotations,
  labels,
  type Component,
  type ComponentDefinition,
  type InstanceSet,
  type Release,
} from "@tessera/api";
import { podEnv } from "../actions/contract/index.js";
import { splitParameters } from "../parameters.js";
import { withAgent } from "./agent.js";
import { withDataProtection, type InstanceDataProtection } from "../backup/instance-pods.js";
import { stableHash } from "../hash.js";
import { names } from "../naming.js";
import { volumeRecord } from "../cluster/volumes.js";

export interface WorkloadInput {
  component: Component;
  compDef: ComponentDefinition;
  release: Release;
  cluster: string;
  /** Short component name within the cluster. */
  shortName: string;
  plainVars: Record<string, string>;
  secretEnv: V1EnvVar[];
  /** Raw template files of every config, for the restart hash. */
  configTemplates: Record<string, Record<string, string>>;
  /** Rendered files of configs marked restartOnChange. */
  restartingConfigs: Record<string, Record<string, string>>;
  /** Restoring from a backup, archiving logs: what the instances' pods get for it. */
  dataProtection?: InstanceDataProtection;
}

/** Labels every object of a component carries; the InstanceSet selects its pods with them. */
export function componentLabels(cluster: string, component: string): Record<string, string> {
  return {
    [labels.managedBy]: MANAGED_BY,
    [labels.instance]: cluster,
    [labels.cluster]: cluster,
    [labels.component]: component,
  };
}

export function ownerReference(owner: {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; uid?: string };
}) {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Metadata of an object a component owns: its labels, and the component as controlling owner. */
export function ownedMetadata(component: Component, cluster: string, name: string) {
  return {
    name,
    namespace: component.metadata.namespace,
    labels: componentLabels(cluster, component.metadata.name!),
    ownerReferences: [ownerReference(component)],
  };
}

/** Changes of this hash roll the instances; dynamic parameters are deliberately left out. */
export function configHash(input: WorkloadInput): string {
  return stableHash({
    templates: input.configTemplates,
    restarting: input.restartingConfigs,
    static: splitParameters(input.compDef, input.component.spec.parameters).static,
  });
}

/** Every container's environment: the contract's instance variables, then the component's vars. */
function containerEnv(
  input: WorkloadInput,
  headless: string,
): { env: V1EnvVar[]; envFrom: V1Container["envFrom"] } {
  const namespace = input.component.metadata.namespace!;
  return {
    envFrom: [{ configMapRef: { name: names.envConfigMap(input.component.metadata.name!) } }],
    env: [...podEnv(headless, namespace), ...input.secretEnv],
  };
}

function templateVolumes(input: WorkloadInput): V1Volume[] {
  const component = input.component.metadata.name!;
  const spec = input.compDef.spec;
  return [
    ...(spec.configs ?? []).map((c) => ({
      name: c.volumeName,
      configMap: { name: names.configMap(component, c.name), defaultMode: c.defaultMode ?? 0o444 },
    })),
    ...(spec.scripts ?? []).map((s) => ({
      name: s.volumeName,
      configMap: { name: names.configMap(component, s.name), defaultMode: s.defaultMode ?? 0o555 },
    })),
  ];
}

/** Definition volumes without a claim template fall back to emptyDir (ephemeral instances). */
function ephemeralVolumes(input: WorkloadInput, declared: Set<string>): V1Volume[] {
  const claimed = new Set((input.component.spec.volumeClaimTemplates ?? []).map((v) => v.name));
  return (input.compDef.spec.volumes ?? [])
    .filter((v) => !claimed.has(v.name) && !declared.has(v.name))
    .map((v) => ({ name: v.name, emptyDir: {} }));
}

/**
 * The record of the cluster (UID and termination policy) that the InstanceSet
 * writes on every volume claim it creates, so a claim tells its fate from
 * the moment it exists. The Cluster controller keeps it current afterwards.
 */
function claimRecord(component: Component): Record<string, string> {
  const cluster = component.metadata.ownerReferences?.find(
    (owner) => owner.apiVersion === API_VERSION && owner.kind === "Cluster",
  );
  return cluster ? volumeRecord(cluster.uid, component.spec.terminationPolicy) : {};
}

/**
 * The scrape annotations of an instance whose exporter runs: the declared
 * port name resolved to its number, since the annotation convention takes one.
 */
function exporterAnnotations(
  compDef: ComponentDefinition,
  containers: V1Container[],
): Record<string, string> {
  const exporter = compDef.spec.exporter;
  const port = containers
    .find((c) => c.name === exporter?.containerName)
    ?.ports?.find((p) => p.name === exporter?.scrapePort)?.containerPort;
  if (!exporter || port === undefined) return {};
  return {
    [scrapeAnnotations.scrape]: "true",
    [scrapeAnnotations.port]: String(port),
    [scrapeAnnotations.path]: exporter.scrapePath,
  };
}

export function buildInstanceSet(input: WorkloadInput): InstanceSet {
  const { component, compDef, release } = input;
  const name = names.instanceSet(component.metadata.name!);
  const headless = names.headlessService(name);
  const selector = componentLabels(input.cluster, component.metadata.name!);
  const runtime = structuredClone(compDef.spec.runtime) as unknown as V1PodSpec;
  const exporter = compDef.spec.exporter?.containerName;
  const { env, envFrom } = containerEnv(input, headless);
  const withEnv = (container: V1Container, index: number): V1Container => ({
    ...container,
    image: release.images[container.name] ?? container.image,
    env: [...env, ...(container.env ?? [])],
    envFrom: [...(envFrom ?? []), ...(container.envFrom ?? [])],
    ...(index === 0 && component.spec.resources
      ? { resources: component.spec.resources as V1Container["resources"] }
      : {}),
  });
  // An engine that serves its own metrics names its first (the database's) container as the
  // exporter: disableExporter then keeps the container and drops only the scrape annotations.
  runtime.containers = runtime.containers
    .filter((c, index) => !(component.spec.disableExporter && index > 0 && c.name === exporter))
    .map(withEnv);
  runtime.initContainers = runtime.initContainers?.map((c) => withEnv(c, -1));
  const probed = compDef.spec.haMode !== "none" || (compDef.spec.roles?.length ?? 0) > 0;
  const agented = probed
    ? withAgent(runtime, compDef.spec.lifecycleActions?.roleProbe, component.metadata.name!)
    : runtime;
  runtime.containers = agented.containers;
  runtime.initContainers = agented.initContainers;
  const declared = new Set((runtime.volumes ?? []).map((v) => v.name));
  runtime.volumes = [
    ...(agented.volumes ?? []),
    ...templateVolumes(input),
    ...ephemeralVolumes(input, declared),
  ];
  const restartedAt = component.metadata.annotations?.[annotations.restartedAt];
  const actions = compDef.spec.lifecycleActions ?? {};
  return {
    apiVersion: API_VERSION,
    kind: "InstanceSet",
    metadata: { ...ownedMetadata(component, input.cluster, name), annotations: claimRecord(component) },
    spec: {
      replicas: component.spec.replicas,
      selector: { matchLabels: selector },
      serviceName: headless,
      template: {
        metadata: {
          labels: { ...component.spec.labels, ...selector },
          annotations: {
            ...component.spec.annotations,
            ...(component.spec.disableExporter ? {} : exporterAnnotations(compDef, runtime.containers)),
            [annotations.configHash]: configHash(input),
            [annotations.componentDef]: compDef.metadata.name!,
            ...(restartedAt ? { [annotations.restartedAt]: restartedAt } : {}),
          },
        },
        spec: input.dataProtection ? withDataProtection(runtime, input.dataProtection) : runtime,
      },
      volumeClaimTemplates: component.spec.volumeClaimTemplates ?? [],
      instances: component.spec.instances ?? [],
      offlineInstances: component.spec.offlineInstances ?? [],
      roles: compDef.spec.roles ?? [],
      podManagementPolicy: "Parallel",
      updateStrategy: compDef.spec.updateStrategy,
      lifecycleActions: {
        ...(actions.switchover ? { switchover: actions.switchover } : {}),
        ...(actions.promote && compDef.spec.haMode === "operator" ? { promote: actions.promote } : {}),
        ...(actions.memberJoin ? { memberJoin: actions.memberJoin } : {}),
        ...(actions.memberLeave ? { memberLeave: actions.memberLeave } : {}),
      },
      // Server-side apply reads empty strings as null, which the schema refuses: unset means empty anyway.
      actionEnv: Object.entries(input.plainVars)
        .filter(([, value]) => value !== "")
        .map(([k, value]) => ({ name: k, value })),
      stopped: component.spec.stop ?? false,
    },
  };
}

type DefinedService = NonNullable<ComponentDefinition["spec"]["services"]>[number];

/** The definition's service whose ports an exposed service of this role gets: the one of the same role, else the first. */
export function exposedPortsOf(
  compDef: ComponentDefinition,
  roleSelector: string | undefined,
): DefinedService | undefined {
  const services = compDef.spec.services ?? [];
  return services.find((s) => s.roleSelector === roleSelector) ?? services[0];
}

/**
 * The component's Services: the definition's, and those the component
 * exposes (spec.services, written by Expose operations) with the ports of the
 * definition's service for their role. All are owned by the Component.
 */
export function buildServices(input: Pick<WorkloadInput, "component" | "compDef" | "cluster">): V1Service[] {
  const { component, compDef } = input;
  const selector = componentLabels(input.cluster, component.metadata.name!);
  const service = (
    name: string,
    type: string,
    role: string | undefined,
    ports: DefinedService["spec"]["ports"],
  ) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: ownedMetadata(component, input.cluster, names.service(component.metadata.name!, name)),
    spec: {
      type,
      selector: { ...selector, ...(role ? { [labels.role]: role } : {}) },
      ports: ports.map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.targetPort ?? p.port,
        protocol: p.protocol ?? "TCP",
      })),
    },
  });
  const defined = (compDef.spec.services ?? []).map((s) =>
    service(s.name, s.spec.type ?? "ClusterIP", s.roleSelector, s.spec.ports),
  );
  const exposed = (component.spec.services ?? []).flatMap((s) => {
    const ports = exposedPortsOf(compDef, s.roleSelector)?.spec.ports;
    return ports ? [service(s.name, s.serviceType, s.roleSelector, ports)] : [];
  });
  return [...defined, ...exposed];
}

export function buildConfigMap(
  component: Component,
  cluster: string,
  name: string,
  data: Record<string, string>,
): V1ConfigMap {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: ownedMetadata(component, cluster, name),
    data,
  };
}
