import { z } from "zod";

export const GROUP = "tessera.dev";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Labels and annotations the operator puts on what it creates. */
export const labels = {
  managedBy: "app.kubernetes.io/managed-by",
  instance: "app.kubernetes.io/instance",
  cluster: "tessera.dev/cluster",
  component: "tessera.dev/component",
  role: "tessera.dev/role",
  podName: "tessera.dev/pod",
  template: "tessera.dev/instance-template",
  revision: "tessera.dev/revision",
  addon: "tessera.dev/addon",
} as const;

export const annotations = {
  /** Set on a pod once the memberJoin action succeeded for it. */
  memberJoined: "tessera.dev/member-joined",
  /** Hash of the configuration that requires a restart when it changes. */
  configHash: "tessera.dev/config-hash",
  /** Epoch of the role assignment the pod's role label reflects. */
  roleEpoch: "tessera.dev/role-epoch",
  /** Restart marker written by a Restart operation. */
  restartedAt: "tessera.dev/restarted-at",
  /** Hash of the desired state the operator last applied to the object. */
  appliedHash: "tessera.dev/applied-hash",
} as const;

export const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS label: lower-case letters, digits and '-'");

export const MANAGED_BY = "tessera";
export const FIELD_MANAGER = "tessera-operator";

/**
 * Marks a schema whose content Kubernetes must store as-is (embedded pod
 * specs and the like): the CRD generator emits
 * `x-kubernetes-preserve-unknown-fields` for it.
 */
export function preserved<T extends z.ZodType>(schema: T): T {
  return schema.meta({ "x-kubernetes-preserve-unknown-fields": true }) as T;
}

/** A Kubernetes resource quantity such as `500m`, `1Gi` or `2`. */
export const quantity = z
  .union([z.string().regex(/^[+]?[0-9.]+([eE][+-]?[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/), z.number()])
  .meta({ "x-kubernetes-int-or-string": true });

export const resourceList = z.record(z.string(), quantity);

export const resourceRequirements = z.object({
  limits: resourceList.optional(),
  requests: resourceList.optional(),
});

export const objectMeta = z.object({
  name: z.string().optional(),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z
    .array(
      z.object({
        apiVersion: z.string(),
        kind: z.string(),
        name: z.string(),
        uid: z.string(),
        controller: z.boolean().optional(),
        blockOwnerDeletion: z.boolean().optional(),
      }),
    )
    .optional(),
  creationTimestamp: z.string().optional(),
});

export const condition = z.object({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
  observedGeneration: z.number().int().optional(),
});

export type Condition = z.infer<typeof condition>;
export type ObjectMeta = z.infer<typeof objectMeta>;
export type ResourceRequirements = z.infer<typeof resourceRequirements>;

/** A PVC template: a name plus a PersistentVolumeClaimSpec. */
export const volumeClaimTemplate = z.object({
  name: z.string().min(1),
  spec: z.object({
    accessModes: z.array(z.string()).optional(),
    storageClassName: z.string().optional(),
    resources: z.object({ requests: z.object({ storage: quantity }) }),
    volumeMode: z.string().optional(),
  }),
});

export type VolumeClaimTemplate = z.infer<typeof volumeClaimTemplate>;

/** What an action runs and where. */
export const execAction = z.object({
  /** Container to run in; defaults to the first container of the pod. */
  container: z.string().optional(),
  command: z.array(z.string()).min(1),
  env: z
    .array(z.object({ name: z.string(), value: z.string() }))
    .optional()
    .describe("Extra literal environment for this action."),
});

export const httpAction = z.object({
  port: z.union([z.number().int(), z.string()]).meta({ "x-kubernetes-int-or-string": true }),
  path: z.string().default("/"),
  method: z.enum(["GET", "POST", "PUT"]).default("GET"),
  scheme: z.enum(["HTTP", "HTTPS"]).default("HTTP"),
});

export const action = z.object({
  exec: execAction.optional(),
  http: httpAction.optional(),
  /** Where the action runs: any ready instance, every instance, the instances of a role, or one ordinal. */
  targetPodSelector: z.enum(["Any", "All", "Role", "Ordinal"]).optional(),
  matchingRole: z.string().optional(),
  ordinal: z.number().int().min(0).optional(),
  timeoutSeconds: z.number().int().min(1).default(30),
  retryPolicy: z
    .object({
      maxRetries: z.number().int().min(0).default(3),
      retryIntervalSeconds: z.number().int().min(0).default(2),
    })
    .optional(),
});

export type Action = z.infer<typeof action>;

export const probeAction = action.extend({
  timeoutSeconds: z.number().int().min(1).default(2),
  periodSeconds: z.number().int().min(1).default(1),
  /** Consecutive failures before the result counts (e.g. before failover starts). */
  failureThreshold: z.number().int().min(1).default(3),
});

export type ProbeAction = z.infer<typeof probeAction>;
