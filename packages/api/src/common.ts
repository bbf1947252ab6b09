import { z } from "zod";
import { NON_NEGATIVE_QUANTITY_PATTERN, isQuantity, parseQuantity } from "@tessera/base";

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
  /** On a replica: the epoch of the primary its follow action last pointed it at. */
  followsEpoch: "tessera.dev/follows-epoch",
  /**
   * On a pod: the ComponentDefinition it was made from. Part of its revision,
   * so moving a component to another definition replaces every instance even
   * where the definitions differ only in what the pod template does not carry
   * (vars, scripts, config files).
   */
  componentDef: "tessera.dev/component-definition",
  /** Restart marker written by a Restart operation. */
  restartedAt: "tessera.dev/restarted-at",
  /** Hash of the desired state the operator last applied to the object. */
  appliedHash: "tessera.dev/applied-hash",
  /** On a volume claim: UID of the cluster whose data it holds. */
  clusterUID: "tessera.dev/cluster-uid",
  /** On a volume claim: that cluster's termination policy, which decides the claim's fate once the cluster is gone. */
  terminationPolicy: "tessera.dev/termination-policy",
} as const;

/**
 * The conventional pod annotations by which a Prometheus finds an instance's
 * metrics (the Kubernetes pod scrape convention), set from the definition's
 * exporter declaration.
 */
export const scrapeAnnotations = {
  scrape: "prometheus.io/scrape",
  port: "prometheus.io/port",
  path: "prometheus.io/path",
} as const;

/**
 * A component's own restart marker on its Cluster, written by a Restart
 * operation; the component restarts when it or the cluster-wide
 * `tessera.dev/restarted-at` changes, and carries the later of the two.
 */
export function componentRestartedAt(component: string): string {
  return `restarted-at.tessera.dev/${component}`;
}

/** The restart marker a component's instances carry: the later of the cluster's and the component's own. */
export function restartMarker(
  clusterAnnotations: Record<string, string> | undefined,
  component: string,
): string | undefined {
  const markers = [
    clusterAnnotations?.[annotations.restartedAt],
    clusterAnnotations?.[componentRestartedAt(component)],
  ].filter((m): m is string => Boolean(m));
  return markers.sort((a, b) => markerTime(a) - markerTime(b) || a.localeCompare(b)).at(-1);
}

/** A restart marker's time (markers are RFC 3339 times; anything else counts as earliest). */
export function markerTime(marker: string | undefined): number {
  const time = Date.parse(marker ?? "");
  return Number.isNaN(time) ? -Infinity : time;
}

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

/** Whether a resource amount is a Kubernetes quantity that is not negative. */
function isResourceQuantity(value: string | number): boolean {
  return isQuantity(value) && parseQuantity(value) >= 0;
}

/**
 * A Kubernetes resource quantity such as `500m`, `1Gi` or `2`. The CRD
 * carries the grammar as a pattern, so the apiserver refuses a malformed
 * string before any webhook runs; the refinement words the refusal for the
 * CLI and catches negative numbers, which a pattern (strings only) lets by.
 */
export const quantity = z
  .union([z.string(), z.number()])
  .refine(isResourceQuantity, {
    error: (issue) =>
      isQuantity(issue.input)
        ? `${JSON.stringify(issue.input)} is negative; resource amounts are 0 or more`
        : `${JSON.stringify(issue.input)} is not a Kubernetes quantity; write a number with an optional suffix, e.g. 500m, 2, 512Mi, 10Gi`,
  })
  .meta({ "x-kubernetes-int-or-string": true, pattern: NON_NEGATIVE_QUANTITY_PATTERN });

export const resourceList = z.record(z.string(), quantity);

export const resourceRequirements = z.object({
  limits: resourceList
    .optional()
    .describe(
      "Most the database container may use, per resource name (`cpu` in cores or millicores such as `500m`, `memory` in bytes such as `4Gi`). Memory beyond the limit kills the process; CPU beyond it is throttled.",
    ),
  requests: resourceList
    .optional()
    .describe(
      "What the database container is guaranteed and scheduled by, per resource name (`cpu`, `memory`), in the same units as limits. Defaults to the limits when only those are set.",
    ),
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
  type: z.string().describe("What the condition is about, e.g. `Ready`."),
  status: z
    .enum(["True", "False", "Unknown"])
    .describe("Whether the condition holds: True, False or Unknown."),
  reason: z.string().describe("One CamelCase word saying why, for tools to match on."),
  message: z.string().describe("What happened and, when something is wrong, what to do about it."),
  lastTransitionTime: z.string().describe("When the status last changed (RFC 3339)."),
  observedGeneration: z
    .number()
    .int()
    .optional()
    .describe(
      "The metadata.generation the condition was computed from; older than the object's means stale.",
    ),
});

export type Condition = z.infer<typeof condition>;
export type ObjectMeta = z.infer<typeof objectMeta>;
export type ResourceRequirements = z.infer<typeof resourceRequirements>;

/** A PVC template: a name plus a PersistentVolumeClaimSpec. */
export const volumeClaimTemplate = z.object({
  name: z
    .string()
    .min(1)
    .describe(
      "The volume this claim backs, as named in the ComponentDefinition's `volumes` and pod template (e.g. `data`). Each instance gets its own PersistentVolumeClaim `<name>-<pod>`.",
    ),
  spec: z
    .object({
      accessModes: z
        .array(z.string())
        .optional()
        .describe("PersistentVolume access modes, e.g. ReadWriteOnce (the default)."),
      storageClassName: z
        .string()
        .optional()
        .describe(
          "StorageClass of the volumes; the cluster's default class when unset. Only a class with allowVolumeExpansion lets the size grow later.",
        ),
      resources: z
        .object({
          requests: z
            .object({
              storage: quantity.describe(
                "Size of each instance's volume, e.g. `20Gi`. Raising it expands existing volumes online where the StorageClass allows it; it can never shrink.",
              ),
            })
            .describe("The storage size to request."),
        })
        .describe("Size of the volume."),
      volumeMode: z.string().optional().describe("Filesystem (the default) or Block."),
    })
    .describe("The PersistentVolumeClaim spec used for every instance's claim."),
});

export type VolumeClaimTemplate = z.infer<typeof volumeClaimTemplate>;

/** Environment variables with literal values. */
export const literalEnv = z.array(
  z.object({
    name: z.string().describe("Variable name."),
    value: z.string().describe("Literal value."),
  }),
);

/** What an action runs and where. */
export const execAction = z.object({
  container: z
    .string()
    .optional()
    .describe("Container to run the command in; defaults to the pod's first container."),
  command: z
    .array(z.string())
    .min(1)
    .describe(
      "Command and arguments, run through `pods/exec` without a shell; the TESSERA_* variables of the action contract are in its environment. Exit code 0 is success.",
    ),
  env: literalEnv
    .optional()
    .describe(
      "Extra literal environment for this action; the operator's TESSERA_* variables take precedence.",
    ),
});

export const httpAction = z.object({
  port: z
    .union([z.number().int(), z.string()])
    .meta({ "x-kubernetes-int-or-string": true })
    .describe("Port number, or the name of a container port of the pod."),
  path: z.string().default("/").describe("Request path on the pod's IP."),
  method: z
    .enum(["GET", "POST", "PUT"])
    .default("GET")
    .describe("GET, POST or PUT; POST and PUT send the action's variables as a JSON object."),
  scheme: z.enum(["HTTP", "HTTPS"]).default("HTTP").describe("HTTP or HTTPS."),
});

export const action = z.object({
  exec: execAction.optional().describe("Runs a command in a container of the target pod (set this or http)."),
  http: httpAction.optional().describe("Calls an HTTP endpoint of the target pod (set this or exec)."),
  targetPodSelector: z
    .enum(["Any", "All", "Role", "Ordinal"])
    .optional()
    .describe(
      "Where the action runs: Any (default) one ready instance, the writable one if there is one; All every ready instance; Role the ready instances labelled matchingRole; Ordinal the instance with that ordinal.",
    ),
  matchingRole: z.string().optional().describe("The role for targetPodSelector Role."),
  ordinal: z.number().int().min(0).optional().describe("The instance ordinal for targetPodSelector Ordinal."),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .default(30)
    .describe("Seconds one attempt may take before it counts as failed."),
  retryPolicy: z
    .object({
      maxRetries: z.number().int().min(0).default(3).describe("Further attempts after a failed one."),
      retryIntervalSeconds: z
        .number()
        .int()
        .min(0)
        .default(2)
        .describe("Seconds before the first retry; doubles with each further retry."),
    })
    .optional()
    .describe("Retries within one run of the action; without it a failure is final for that run."),
});

export type Action = z.infer<typeof action>;

export const probeAction = action.extend({
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .default(2)
    .describe("Seconds one probe may take before it counts as failed."),
  periodSeconds: z.number().int().min(1).default(1).describe("Seconds between probe rounds."),
  failureThreshold: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe(
      "Failed rounds in a row before the failure counts: the instance loses its role label and, for the primary in operator HA mode, failover starts.",
    ),
});

export type ProbeAction = z.infer<typeof probeAction>;
