import { z } from "zod";
import {
  condition,
  dnsLabel,
  literalEnv,
  objectMeta,
  resourceRequirements,
  volumeClaimTemplate,
} from "./common.js";
import {
  clusterBackup,
  clusterBackupStatus,
  clusterRestore,
  componentLogArchive,
  componentRestore,
  type Backup,
  type ClusterRestore,
} from "./backup.js";

const stringMap = z.record(z.string(), z.string());

/** A named group of instances with their own overrides (heterogeneous instances). */
export const instanceTemplate = z.object({
  name: dnsLabel.describe(
    "Template name; its instances are named `<component>-<name>-<n>` and labelled tessera.dev/instance-template=<name>.",
  ),
  replicas: z
    .number()
    .int()
    .min(0)
    .default(1)
    .describe("How many of the component's instances use this template; they count towards its replicas."),
  resources: resourceRequirements
    .optional()
    .describe("CPU and memory of these instances' database container, instead of the component's."),
  labels: stringMap
    .optional()
    .describe("Extra labels on these instances' pods (changed in place, no restart)."),
  annotations: stringMap
    .optional()
    .describe("Extra annotations on these instances' pods (changed in place, no restart)."),
  env: literalEnv.optional().describe("Extra environment variables of every container of these instances."),
  volumeClaimTemplates: z
    .array(volumeClaimTemplate)
    .optional()
    .describe(
      "Volumes of these instances that differ from the component's, matched by name (e.g. a larger `data` volume).",
    ),
});

export type InstanceTemplate = z.infer<typeof instanceTemplate>;

export const exposedServiceType = z.enum(["NodePort", "LoadBalancer"]);

/** A Service exposing a component's instances of one role outside the cluster. */
export const exposedService = z.object({
  name: dnsLabel.describe("Its name within the component: the Service is `<cluster>-<component>-<name>`."),
  serviceType: exposedServiceType.describe(
    "NodePort (a port on every node) or LoadBalancer (an address from the platform's load balancer, and a node port).",
  ),
  roleSelector: z
    .string()
    .optional()
    .describe("The role whose instances it reaches (e.g. `primary`); every ready instance when unset."),
});
export type ExposedService = z.infer<typeof exposedService>;

export const terminationPolicy = z.enum(["DoNotTerminate", "Delete", "WipeOut"]);
export type TerminationPolicy = z.infer<typeof terminationPolicy>;

const terminationPolicyText =
  "What deleting the cluster does: DoNotTerminate refuses the deletion (change the policy first); Delete removes the cluster with its pods and volumes (the data is gone); WipeOut removes the same, and its volumes go even if the operator never runs again (the cluster owns them).";

const rolls =
  "restarts the instances: one at a time, the writable one last, unless the definition's updateStrategy is Parallel";

/** What a user asks for one component; shared by Cluster.componentSpecs and Component.spec. */
const componentSpecFields = {
  serviceVersion: z
    .string()
    .optional()
    .describe(
      `Engine version to run, one a ComponentVersion offers for this definition (e.g. 16.4); the newest offered when unset. Changing it upgrades the engine and ${rolls}.`,
    ),
  replicas: z
    .number()
    .int()
    .min(0)
    .default(1)
    .describe(
      "Number of database instances (pods, each with its own volumes), instance templates included. Default 1; the ComponentDefinition's replicasLimit bounds it. Raising it adds instances that join the existing ones; lowering it removes the highest ordinals first (the writable instance last, after a switchover) and deletes their volumes.",
    ),
  resources: resourceRequirements
    .optional()
    .describe(
      `CPU and memory of each instance's database container (the pod's first container). Changing it ${rolls}.`,
    ),
  volumeClaimTemplates: z
    .array(volumeClaimTemplate)
    .optional()
    .describe(
      "Persistent volumes of every instance, by the definition's volume names. A volume the definition declares without a claim here is an emptyDir and loses its data when the pod goes.",
    ),
  instances: z
    .array(instanceTemplate)
    .optional()
    .describe("Groups of instances with their own resources, volumes, labels or environment."),
  offlineInstances: z
    .array(z.string())
    .optional()
    .describe(
      "Pod names of instances to take out (e.g. `mycluster-db-1`): they are removed with their volumes and their ordinals are never reused. Lower replicas by as many to scale in exactly these instances.",
    ),
  parameters: stringMap
    .optional()
    .describe(
      `Engine configuration parameters, name to value, rendered into the addon's config files. Parameters the definition declares dynamic are applied live through its reconfigure action; changing any other ${rolls}.`,
    ),
  stop: z
    .boolean()
    .optional()
    .describe(
      "true stops every instance: pods are deleted, volumes kept, phase Stopped. false or unset runs them again on the same volumes.",
    ),
  services: z
    .array(exposedService)
    .optional()
    .describe(
      "Services that expose the component outside the Kubernetes cluster (an Expose OpsRequest adds and removes them). Each is named `<cluster>-<component>-<name>`, has the ports of the definition's service for its role and goes with the cluster.",
    ),
  disableExporter: z
    .boolean()
    .optional()
    .describe(
      "true: instances are not scraped for metrics: the definition's exporter container is left out, or, when the database serves its metrics itself, only the scrape annotations.",
    ),
  labels: stringMap
    .optional()
    .describe("Extra labels on every instance's pod (changed in place, no restart)."),
  annotations: stringMap
    .optional()
    .describe("Extra annotations on every instance's pod (changed in place, no restart)."),
};

export const clusterComponentSpec = z.object({
  name: dnsLabel.describe(
    "Component name, as the topology names it (e.g. `postgresql`). Its objects are named `<cluster>-<name>`. Cannot be removed from an existing cluster.",
  ),
  componentDef: z
    .string()
    .optional()
    .describe(
      "ComponentDefinition to use: an exact name, or a prefix such as `postgresql-` that picks the newest matching one. Required without clusterDef; with one, overrides the topology's choice.",
    ),
  ...componentSpecFields,
});

export type ClusterComponentSpec = z.infer<typeof clusterComponentSpec>;

/**
 * What a component passes on to a cluster restored from its backup: its definition, version,
 * size, volumes and configuration (not its services, offline instances or stop flag).
 */
export function restoredComponentSpec(spec: ClusterComponentSpec): ClusterComponentSpec {
  return {
    name: spec.name,
    ...(spec.componentDef ? { componentDef: spec.componentDef } : {}),
    ...(spec.serviceVersion ? { serviceVersion: spec.serviceVersion } : {}),
    replicas: spec.replicas,
    ...(spec.resources ? { resources: spec.resources } : {}),
    ...(spec.volumeClaimTemplates ? { volumeClaimTemplates: spec.volumeClaimTemplates } : {}),
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
  };
}

/**
 * The spec of a cluster restored from a backup of `source`: the engine and topology, and of each
 * component what restoredComponentSpec passes on, the restored one at the version the backup was
 * taken at, under terminationPolicy Delete. Backup settings (a schedule, log archiving, a key),
 * services and the termination policy stay the source's: the new cluster is backed up only when
 * asked.
 */
export function restoredClusterSpec(
  source: { spec: ClusterSpec },
  backup: Backup,
  restore: ClusterRestore,
): ClusterSpec {
  const { clusterDef, topology, componentSpecs } = source.spec;
  const component = backup.status?.component;
  const version = backup.status?.serviceVersion;
  return {
    ...(clusterDef ? { clusterDef } : {}),
    ...(topology ? { topology } : {}),
    terminationPolicy: "Delete",
    componentSpecs: componentSpecs
      .map(restoredComponentSpec)
      .map((c) => (c.name === component && version ? { ...c, serviceVersion: version } : c)),
    restore,
  };
}

export const clusterSpec = z.object({
  clusterDef: z
    .string()
    .optional()
    .describe(
      "ClusterDefinition (an installed engine, e.g. `postgresql`) whose topology lays out the components. Immutable. Without it, every component names its componentDef.",
    ),
  topology: z
    .string()
    .optional()
    .describe(
      "Topology of the ClusterDefinition (e.g. `replication`); the definition's default when unset. Immutable.",
    ),
  terminationPolicy: terminationPolicy.default("Delete").describe(`${terminationPolicyText} Default Delete.`),
  componentSpecs: z
    .array(clusterComponentSpec)
    .min(1)
    .describe("The components of the cluster, one per component of the topology."),
  backup: clusterBackup
    .optional()
    .describe(
      "Where backups go, when they are taken and kept, and whether logs are archived for point-in-time recovery.",
    ),
  restore: clusterRestore
    .optional()
    .describe(
      "Create the cluster from a backup (optionally to a point in time) instead of empty. Immutable.",
    ),
});

export const clusterPhase = z.enum([
  "Creating",
  "Running",
  "Updating",
  "Stopping",
  "Stopped",
  "Deleting",
  "Failed",
  "Abnormal",
]);
export type ClusterPhase = z.infer<typeof clusterPhase>;

const phaseText =
  "Creating, Running (every instance ready and updated), Updating (a change is being rolled out), Stopping, Stopped, Deleting, Failed (no instance ready) or Abnormal (some instances not ready, or no writable one).";

export const clusterStatus = z
  .object({
    phase: clusterPhase.optional().describe(`Summary of the components' phases: ${phaseText}`),
    message: z.string().optional().describe("Why the cluster is in its phase, e.g. what it waits for."),
    observedGeneration: z
      .number()
      .int()
      .optional()
      .describe(
        "The metadata.generation this status reflects; older than the object's means not yet acted on.",
      ),
    engine: z
      .string()
      .optional()
      .describe("The engine of the first component (its definition's serviceKind)."),
    components: z
      .record(
        z.string(),
        z.object({
          phase: clusterPhase.optional().describe(`The component's phase: ${phaseText}`),
          message: z.string().optional().describe("Why the component is in its phase."),
          compDef: z.string().optional().describe("The ComponentDefinition the component resolved to."),
        }),
      )
      .optional()
      .describe("Phase of each component, by component name."),
    backup: clusterBackupStatus.optional().describe("Backups of the cluster and what a restore can reach."),
    conditions: z
      .array(condition)
      .optional()
      .describe(
        "Conditions, e.g. why the cluster cannot be created or deleted; LastBackupSucceeded and LogArchiving with backups.",
      ),
  })
  .describe("What the operator observed; written by the operator only.");

export const cluster = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("Cluster"),
    metadata: objectMeta,
    spec: clusterSpec.describe("The database cluster wanted."),
    status: clusterStatus.optional(),
  })
  .describe(
    "A database cluster: one or more components (e.g. a PostgreSQL primary with replicas) laid out by an installed engine's topology. The operator creates a Component per component and keeps it highly available.",
  );

export type ClusterSpec = z.infer<typeof clusterSpec>;
export type ClusterStatus = z.infer<typeof clusterStatus>;
export type Cluster = z.infer<typeof cluster>;

// ---------------------------------------------------------------------------
// Component: one resolved component of a cluster (created by the Cluster controller).

export const componentSpec = z.object({
  compDef: z.string().min(1).describe("The ComponentDefinition this component runs (its exact name)."),
  terminationPolicy: terminationPolicy
    .default("Delete")
    .describe(
      "Copied from the Cluster; decides whether deleting the component also deletes its volumes (not with DoNotTerminate).",
    ),
  ...componentSpecFields,
  restore: componentRestore
    .optional()
    .describe("Set by the Cluster controller for a restored cluster: where its instances' data comes from."),
  logArchive: componentLogArchive
    .optional()
    .describe(
      "Set by the Cluster controller with point-in-time recovery: where the instances archive their logs.",
    ),
});

export const haStatus = z.object({
  primary: z.string().optional().describe("The instance (pod name) currently holding the writable role."),
  epoch: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe("Increases with every change of the writable role; lets a stale primary be recognised."),
  promotePending: z
    .boolean()
    .optional()
    .describe("true while failover chose a new primary whose promote action has not succeeded yet."),
  fencing: z
    .object({
      from: z.string().describe("The primary being failed over from."),
      since: z.string().describe("When its replicas started to be detached from it (RFC 3339)."),
      reason: z.string().describe("Why it counts as lost."),
    })
    .optional()
    .describe(
      "Set while failover detaches the replicas from a lost primary, before one of them is promoted; a fenced primary never gets the writable role back.",
    ),
  lastFailover: z
    .object({
      from: z.string().describe("The primary that was lost."),
      to: z.string().describe("The instance promoted in its place."),
      at: z.string().describe("When failover chose it (RFC 3339)."),
      reason: z.string().describe("Why the old primary counted as lost."),
    })
    .optional()
    .describe("The latest failover."),
});

export type HAStatus = z.infer<typeof haStatus>;

export const componentStatus = z
  .object({
    phase: clusterPhase.optional().describe(`The component's phase: ${phaseText}`),
    message: z.string().optional().describe("Why the component is in its phase, e.g. `2/3 instances ready`."),
    observedGeneration: z.number().int().optional().describe("The metadata.generation this status reflects."),
    serviceVersion: z.string().optional().describe("The engine version the component runs."),
    replicas: z
      .number()
      .int()
      .optional()
      .describe("Number of instances the component's InstanceSet currently wants."),
    selector: z
      .string()
      .optional()
      .describe("Label selector of the component's pods, as a string (for the scale subresource)."),
    ha: haStatus
      .optional()
      .describe("The writable role and the latest failover, for a definition with roles or an HA mode."),
    completedActions: z
      .array(z.string())
      .optional()
      .describe("Run-once lifecycle actions that succeeded (postProvision, accountProvision:<account>, …)."),
    appliedParameters: stringMap
      .optional()
      .describe("Dynamic parameters last applied through the reconfigure action."),
    unconfirmedParameters: z
      .array(z.string())
      .optional()
      .describe(
        "Dynamic parameters whose last reconfigure failed, perhaps after some instances took the new value: applied again on every instance with the next value wanted.",
      ),
    conditions: z
      .array(condition)
      .optional()
      .describe("Ready, DefinitionsResolved, VarsResolved and the outcome of failed lifecycle actions."),
  })
  .describe("What the operator observed; written by the operator only.");

export const component = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("Component"),
    metadata: objectMeta,
    spec: componentSpec.describe(
      "The component wanted; written by the Cluster controller from the Cluster's componentSpecs (change it there).",
    ),
    status: componentStatus.optional(),
  })
  .describe(
    "One component of a Cluster (named `<cluster>-<component>`): its InstanceSet, services, configuration, accounts and HA. Created and kept in line with the Cluster by the operator.",
  );

export type ComponentSpec = z.infer<typeof componentSpec>;
export type ComponentStatus = z.infer<typeof componentStatus>;
export type Component = z.infer<typeof component>;
