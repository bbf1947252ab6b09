import { z } from "zod";
import { action, objectMeta, preserved, probeAction, condition, dnsLabel } from "./common.js";

// ---------------------------------------------------------------------------
// ClusterDefinition: the topologies an engine offers.

export const topologyComponent = z.object({
  /** Component name inside the cluster, e.g. `db` or `proxy`. */
  name: dnsLabel,
  /** ComponentDefinition name, or a prefix of one (the newest matching wins). */
  compDef: z.string().min(1),
});

export const topology = z.object({
  name: dnsLabel,
  default: z.boolean().optional(),
  components: z.array(topologyComponent).min(1),
  /**
   * Stages of component names; a stage is a comma-separated list of components
   * handled in parallel, stages go in order. Missing orders mean all at once.
   */
  orders: z
    .object({
      provision: z.array(z.string()).optional(),
      terminate: z.array(z.string()).optional(),
      update: z.array(z.string()).optional(),
    })
    .optional(),
});

export const clusterDefinitionSpec = z.object({
  topologies: z.array(topology).min(1),
});

export const definitionStatus = z.object({
  phase: z.enum(["Available", "Unavailable"]).optional(),
  message: z.string().optional(),
  observedGeneration: z.number().int().optional(),
});

export const clusterDefinition = z.object({
  apiVersion: z.string(),
  kind: z.literal("ClusterDefinition"),
  metadata: objectMeta,
  spec: clusterDefinitionSpec,
  status: definitionStatus.optional(),
});

export type Topology = z.infer<typeof topology>;
export type ClusterDefinition = z.infer<typeof clusterDefinition>;

// ---------------------------------------------------------------------------
// ComponentDefinition: the blueprint of one component.

/** A value the operator resolves and hands to pods (env) and templates. */
export const componentVar = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a valid environment variable name"),
  /** A literal; may reference earlier vars as $(NAME). */
  value: z.string().optional(),
  valueFrom: z
    .object({
      /** A system account's credentials; always passed as a Secret reference, never rendered into files. */
      credentialVarRef: z
        .object({
          compDef: z.string().optional(),
          name: z.string(),
          username: z.boolean().optional(),
          password: z.boolean().optional(),
        })
        .optional(),
      /** A service of this or another component of the same cluster. */
      serviceVarRef: z
        .object({
          compDef: z.string().optional(),
          name: z.string(),
          host: z.boolean().optional(),
          /** Port name to resolve; the port number becomes the value. */
          port: z.string().optional(),
        })
        .optional(),
      /** Facts about this or another component of the same cluster. */
      componentVarRef: z
        .object({
          compDef: z.string().optional(),
          field: z.enum(["name", "shortName", "replicas", "podNames", "podFQDNs", "headlessService"]),
        })
        .optional(),
    })
    .optional(),
  /** Unresolvable optional vars are left empty instead of blocking the component. */
  optional: z.boolean().optional(),
});

export const componentService = z.object({
  /** Suffix of the Service name: `<cluster>-<component>-<name>`. */
  name: dnsLabel,
  /** Ports (name, port, targetPort) and type as in a Service spec. */
  spec: z.object({
    type: z.enum(["ClusterIP", "NodePort", "LoadBalancer"]).optional(),
    ports: z
      .array(
        z.object({
          name: z.string(),
          port: z.number().int().min(1).max(65535),
          targetPort: z
            .union([z.number().int(), z.string()])
            .meta({ "x-kubernetes-int-or-string": true })
            .optional(),
          protocol: z.enum(["TCP", "UDP"]).optional(),
        }),
      )
      .min(1),
  }),
  /** Only pods with this role receive traffic; absent means every ready pod. */
  roleSelector: z.string().optional(),
});

export const templateRef = z.object({
  name: dnsLabel,
  /** ConfigMap holding the template files (installed with the addon). */
  template: z.string().min(1),
  namespace: z.string().min(1),
  /** Volume of the pod template the rendered files are mounted through. */
  volumeName: z.string().min(1),
  defaultMode: z.number().int().optional(),
});

export const configTemplate = templateRef.extend({
  /** Parameters that take effect without a restart (the `reconfigure` action applies them). */
  dynamicParameters: z.array(z.string()).optional(),
  /** If true, every change of this config restarts the instances (rolling, roles respected). */
  restartOnChange: z.boolean().optional(),
});

export const systemAccount = z.object({
  name: z.string().min(1),
  /** The account the engine is initialised with (provisioned by the engine itself, not `accountProvision`). */
  initAccount: z.boolean().optional(),
  /** Extra statement or argument the accountProvision action receives as TESSERA_ACCOUNT_STATEMENT. */
  statement: z.string().optional(),
  passwordLength: z.number().int().min(8).max(128).default(24),
});

export const role = z.object({
  name: dnsLabel,
  /** Higher is updated later; the writable role is normally highest. */
  updatePriority: z.number().int().min(0),
  /** The role that accepts writes. At most one role may be writable. */
  writable: z.boolean().optional(),
  /** Whether replicas in this role count as serving reads/writes for availability. */
  participatesInQuorum: z.boolean().optional(),
});

export const lifecycleActions = z.object({
  roleProbe: probeAction.optional(),
  availableProbe: probeAction.optional(),
  postProvision: action.optional(),
  preTerminate: action.optional(),
  switchover: action.optional(),
  promote: action.optional(),
  /** Run on a writable instance that lost its role (a returning old primary) so it follows the current one. */
  demote: action.optional(),
  memberJoin: action.optional(),
  memberLeave: action.optional(),
  readonly: action.optional(),
  readwrite: action.optional(),
  reconfigure: action.optional(),
  accountProvision: action.optional(),
  dataDump: action.optional(),
  dataLoad: action.optional(),
});

export type LifecycleActions = z.infer<typeof lifecycleActions>;
export type LifecycleActionName = keyof LifecycleActions;

export const componentDefinitionSpec = z.object({
  provider: z.string().optional(),
  description: z.string().optional(),
  /** The engine this component runs; shown in `kubectl get`. */
  serviceKind: z.string().min(1),
  /** Pod template of an instance (a core/v1 PodSpec). */
  runtime: preserved(
    z.looseObject({ containers: z.array(preserved(z.looseObject({ name: z.string() }))).min(1) }),
  ),
  vars: z.array(componentVar).optional(),
  volumes: z.array(z.object({ name: z.string(), needSnapshot: z.boolean().optional() })).optional(),
  services: z.array(componentService).optional(),
  configs: z.array(configTemplate).optional(),
  scripts: z.array(templateRef).optional(),
  systemAccounts: z.array(systemAccount).optional(),
  roles: z.array(role).optional(),
  replicasLimit: z
    .object({ minReplicas: z.number().int().min(0), maxReplicas: z.number().int().min(1) })
    .optional(),
  /** How instances are updated: one at a time, or all at once. */
  updateStrategy: z.enum(["Serial", "Parallel"]).default("Serial"),
  /** Whether Tessera arbitrates failover (`operator`) or only observes roles the engine decides (`native`). */
  haMode: z.enum(["operator", "native", "none"]).default("none"),
  exporter: z
    .object({
      containerName: z.string(),
      scrapePort: z.string(),
      scrapePath: z.string().default("/metrics"),
    })
    .optional(),
  lifecycleActions: lifecycleActions.optional(),
});

export const componentDefinition = z.object({
  apiVersion: z.string(),
  kind: z.literal("ComponentDefinition"),
  metadata: objectMeta,
  spec: componentDefinitionSpec,
  status: definitionStatus.optional(),
});

export type ComponentVar = z.infer<typeof componentVar>;
export type ComponentService = z.infer<typeof componentService>;
export type ConfigTemplate = z.infer<typeof configTemplate>;
export type TemplateRef = z.infer<typeof templateRef>;
export type SystemAccount = z.infer<typeof systemAccount>;
export type Role = z.infer<typeof role>;
export type ComponentDefinitionSpec = z.infer<typeof componentDefinitionSpec>;
export type ComponentDefinition = z.infer<typeof componentDefinition>;

// ---------------------------------------------------------------------------
// ComponentVersion: releases and the images they use.

export const release = z.object({
  name: z.string().min(1),
  /** The version users ask for in `serviceVersion`. */
  serviceVersion: z.string().min(1),
  /** Image per container name of the ComponentDefinition's runtime. */
  images: z.record(z.string(), z.string()),
});

export const componentVersionSpec = z.object({
  compatibilityRules: z
    .array(z.object({ compDefs: z.array(z.string()).min(1), releases: z.array(z.string()).min(1) }))
    .min(1),
  releases: z.array(release).min(1),
});

export const componentVersion = z.object({
  apiVersion: z.string(),
  kind: z.literal("ComponentVersion"),
  metadata: objectMeta,
  spec: componentVersionSpec,
  status: definitionStatus
    .extend({ serviceVersions: z.string().optional(), conditions: z.array(condition).optional() })
    .optional(),
});

export type Release = z.infer<typeof release>;
export type ComponentVersion = z.infer<typeof componentVersion>;
