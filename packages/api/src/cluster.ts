import { z } from "zod";
import { condition, objectMeta, resourceRequirements, volumeClaimTemplate, dnsLabel } from "./common.js";

/** A named group of instances with their own overrides (heterogeneous instances). */
export const instanceTemplate = z.object({
  name: dnsLabel,
  replicas: z.number().int().min(0).default(1),
  resources: resourceRequirements.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  env: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
  volumeClaimTemplates: z.array(volumeClaimTemplate).optional(),
});

export type InstanceTemplate = z.infer<typeof instanceTemplate>;

export const terminationPolicy = z.enum(["DoNotTerminate", "Delete", "WipeOut"]);
export type TerminationPolicy = z.infer<typeof terminationPolicy>;

/** What a user asks for one component; shared by Cluster.componentSpecs and Component.spec. */
const componentSpecFields = {
  serviceVersion: z.string().optional(),
  replicas: z.number().int().min(0).default(1),
  resources: resourceRequirements.optional(),
  volumeClaimTemplates: z.array(volumeClaimTemplate).optional(),
  instances: z.array(instanceTemplate).optional(),
  /** Pod names to remove (scale-in of chosen instances) and never recreate. */
  offlineInstances: z.array(z.string()).optional(),
  /** Engine configuration parameters, rendered into the addon's config templates. */
  parameters: z.record(z.string(), z.string()).optional(),
  /** Stops every instance (keeping volumes) when true. */
  stop: z.boolean().optional(),
  disableExporter: z.boolean().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
};

export const clusterComponentSpec = z.object({
  /** Component name, as in the topology. */
  name: dnsLabel,
  /** ComponentDefinition (name or prefix); required without a ClusterDefinition topology. */
  componentDef: z.string().optional(),
  ...componentSpecFields,
});

export type ClusterComponentSpec = z.infer<typeof clusterComponentSpec>;

export const clusterSpec = z.object({
  clusterDef: z.string().optional(),
  topology: z.string().optional(),
  terminationPolicy: terminationPolicy.default("Delete"),
  componentSpecs: z.array(clusterComponentSpec).min(1),
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

export const clusterStatus = z.object({
  phase: clusterPhase.optional(),
  message: z.string().optional(),
  observedGeneration: z.number().int().optional(),
  /** The engine (serviceKind) of the first component, for `kubectl get`. */
  engine: z.string().optional(),
  components: z
    .record(
      z.string(),
      z.object({
        phase: clusterPhase.optional(),
        message: z.string().optional(),
        compDef: z.string().optional(),
      }),
    )
    .optional(),
  conditions: z.array(condition).optional(),
});

export const cluster = z.object({
  apiVersion: z.string(),
  kind: z.literal("Cluster"),
  metadata: objectMeta,
  spec: clusterSpec,
  status: clusterStatus.optional(),
});

export type ClusterSpec = z.infer<typeof clusterSpec>;
export type ClusterStatus = z.infer<typeof clusterStatus>;
export type Cluster = z.infer<typeof cluster>;

// ---------------------------------------------------------------------------
// Component: one resolved component of a cluster (created by the Cluster controller).

export const componentSpec = z.object({
  /** The resolved ComponentDefinition name. */
  compDef: z.string().min(1),
  terminationPolicy: terminationPolicy.default("Delete"),
  ...componentSpecFields,
});

export const haStatus = z.object({
  /** The instance currently holding the writable role. */
  primary: z.string().optional(),
  /** Increases with every change of the writable role. */
  epoch: z.number().int().min(0).default(0),
  /** Set when failover chose a new primary whose promote action has not succeeded yet. */
  promotePending: z.boolean().optional(),
  lastFailover: z.object({ from: z.string(), to: z.string(), at: z.string(), reason: z.string() }).optional(),
});

export type HAStatus = z.infer<typeof haStatus>;

export const componentStatus = z.object({
  phase: clusterPhase.optional(),
  message: z.string().optional(),
  observedGeneration: z.number().int().optional(),
  serviceVersion: z.string().optional(),
  ha: haStatus.optional(),
  /** Run-once actions that have completed (postProvision, accountProvision:<name>, …). */
  completedActions: z.array(z.string()).optional(),
  /** Dynamic parameters last applied through the reconfigure action. */
  appliedParameters: z.record(z.string(), z.string()).optional(),
  conditions: z.array(condition).optional(),
});

export const component = z.object({
  apiVersion: z.string(),
  kind: z.literal("Component"),
  metadata: objectMeta,
  spec: componentSpec,
  status: componentStatus.optional(),
});

export type ComponentSpec = z.infer<typeof componentSpec>;
export type ComponentStatus = z.infer<typeof componentStatus>;
export type Component = z.infer<typeof component>;
