import { z } from "zod";
import { action, objectMeta, preserved, probeAction, condition, dnsLabel } from "./common.js";
import { componentBackup } from "./backup.js";

const definitionRef =
  "a ComponentDefinition name, or a prefix such as `postgresql-` that matches the newest `postgresql-<version>`";

// ---------------------------------------------------------------------------
// ClusterDefinition: the topologies an engine offers.

export const topologyComponent = z.object({
  name: dnsLabel.describe("Component name inside the cluster, e.g. `postgresql` or `proxy`."),
  compDef: z.string().min(1).describe(`The component's definition: ${definitionRef}.`),
});

const stages = (what: string) =>
  z
    .array(z.string())
    .optional()
    .describe(
      `Stages in which components are ${what}: each entry is a comma-separated list of component names handled together, and a stage starts once the previous one is done. Components not listed come last.`,
    );

export const topology = z.object({
  name: dnsLabel.describe("Topology name users pick in a Cluster's spec.topology, e.g. `replication`."),
  default: z.boolean().optional().describe("The topology used when a Cluster names none (else the first)."),
  components: z.array(topologyComponent).min(1).describe("The components a cluster of this topology has."),
  orders: z
    .object({
      provision: stages("created (each stage Running before the next)"),
      update: stages("updated"),
    })
    .optional()
    .describe("Order between components; without it, all components are handled at once."),
});

export const clusterDefinitionSpec = z.object({
  topologies: z.array(topology).min(1).describe("The cluster layouts this engine offers."),
});

export const definitionStatus = z
  .object({
    phase: z
      .enum(["Available", "Unavailable"])
      .optional()
      .describe("Whether the definition can be used: Available or Unavailable."),
    message: z.string().optional().describe("Why the definition is unavailable."),
    observedGeneration: z.number().int().optional().describe("The metadata.generation this status reflects."),
  })
  .describe("What the operator observed.");

export const clusterDefinition = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("ClusterDefinition"),
    metadata: objectMeta,
    spec: clusterDefinitionSpec.describe("The topologies of the engine."),
    status: definitionStatus.optional(),
  })
  .describe(
    "An installed engine's cluster layouts (topologies): which components a cluster has and in which order they are created and updated. Installed with the engine's addon.",
  );

export type Topology = z.infer<typeof topology>;
export type ClusterDefinition = z.infer<typeof clusterDefinition>;

// ---------------------------------------------------------------------------
// ComponentDefinition: the blueprint of one component.

const otherComponent = z
  .string()
  .optional()
  .describe(
    `Another component of the same cluster, by its definition (${definitionRef}); this component when unset.`,
  );

/** A value the operator resolves and hands to pods (env) and templates. */
export const componentVar = z.object({
  name: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a valid environment variable name")
    .describe("Variable name; pods get it as an environment variable, templates as vars.<name>."),
  value: z
    .string()
    .optional()
    .describe("A literal value; may reference earlier vars and the TESSERA_* facts as $(NAME)."),
  valueFrom: z
    .object({
      credentialVarRef: z
        .object({
          compDef: otherComponent,
          name: z.string().describe("The system account."),
          username: z.boolean().optional().describe("true: the account's user name."),
          password: z.boolean().optional().describe("true: the account's password (the default)."),
        })
        .optional()
        .describe(
          "A system account's user name or password; always passed to pods as a Secret reference, never rendered into files.",
        ),
      serviceVarRef: z
        .object({
          compDef: otherComponent,
          name: z.string().describe("The service, by its name in the definition's services."),
          host: z.boolean().optional().describe("true: the Service's DNS name (the default without port)."),
          port: z.string().optional().describe("A port name of the service: the value is its port number."),
        })
        .optional()
        .describe("A Service of this or another component: its host name or a port number."),
      componentVarRef: z
        .object({
          compDef: otherComponent,
          field: z
            .enum(["name", "shortName", "replicas", "podNames", "podFQDNs", "headlessService"])
            .describe(
              "name: the Component's name; shortName: its name in the cluster; replicas: the number of instances; podNames, podFQDNs: comma-separated; headlessService: the Service giving instances DNS names.",
            ),
        })
        .optional()
        .describe("A fact about this or another component."),
    })
    .optional()
    .describe("Where the value comes from, when it is not a literal."),
  optional: z
    .boolean()
    .optional()
    .describe("true: a value that cannot be resolved is empty instead of blocking the component."),
});

export const componentService = z.object({
  name: dnsLabel.describe("Suffix of the Service name: the Service is `<cluster>-<component>-<name>`."),
  spec: z
    .object({
      type: z
        .enum(["ClusterIP", "NodePort", "LoadBalancer"])
        .optional()
        .describe("Service type; ClusterIP when unset."),
      ports: z
        .array(
          z.object({
            name: z.string().describe("Port name, referenced by serviceVarRef.port."),
            port: z.number().int().min(1).max(65535).describe("Port the Service listens on."),
            targetPort: z
              .union([z.number().int(), z.string()])
              .meta({ "x-kubernetes-int-or-string": true })
              .optional()
              .describe("Container port (number or name) traffic goes to; the same as port when unset."),
            protocol: z.enum(["TCP", "UDP"]).optional().describe("TCP (the default) or UDP."),
          }),
        )
        .min(1)
        .describe("The ports of the Service."),
    })
    .describe("Type and ports, as in a Service spec."),
  roleSelector: z
    .string()
    .optional()
    .describe(
      "Only instances labelled with this role receive traffic (e.g. `primary` for a read-write service); every instance when unset.",
    ),
});

export const templateRef = z.object({
  name: dnsLabel.describe("Name of the rendered ConfigMap: `<cluster>-<component>-<name>`."),
  template: z.string().min(1).describe("ConfigMap holding the template files (installed with the addon)."),
  namespace: z.string().min(1).describe("Namespace of that ConfigMap."),
  volumeName: z.string().min(1).describe("Volume of the pod template the files are mounted through."),
  defaultMode: z.number().int().optional().describe("File mode of the mounted files; 0555 when unset."),
});

const bound = z.union([z.number(), z.string()]).meta({ "x-kubernetes-int-or-string": true }).optional();

/** One engine parameter a Cluster or a Reconfiguring OpsRequest may set, and the values it takes. */
export const parameterSchema = z.object({
  name: z.string().min(1).describe("The parameter's name, as a Cluster's parameters name it."),
  type: z
    .enum(["integer", "number", "boolean", "enum", "string", "quantity"])
    .describe(
      "integer or number (optionally within minimum..maximum), boolean (true/false, on/off, yes/no, 1/0), enum (one of values), string (optionally matching pattern) or quantity (an integer with an optional unit from units, e.g. a size `64MB` or a duration `30s`, within minimum..maximum).",
    ),
  description: z.string().min(1).describe("What the parameter does, for people setting it."),
  dynamic: z
    .boolean()
    .optional()
    .describe(
      "true: it takes effect without a restart, applied by the reconfigure action; otherwise a change restarts the instances.",
    ),
  minimum: bound.describe(
    "Smallest value allowed (integer, number, quantity: a quantity may carry a unit, e.g. `64kB`).",
  ),
  maximum: bound.describe("Largest value allowed (integer, number, quantity)."),
  values: z.array(z.string()).optional().describe("For an enum: the values allowed."),
  pattern: z
    .string()
    .optional()
    .describe("For a string: a regular expression (JavaScript syntax) the whole value must match."),
  units: z
    .record(z.string(), z.number().int().min(1))
    .optional()
    .describe(
      "For a quantity: the unit suffixes accepted (case-sensitive) and how many base units (bytes, milliseconds, …) each stands for, e.g. `{kB: 1024, MB: 1048576}`.",
    ),
  unit: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe("For a quantity: how many base units a value without a unit stands for; 1 when unset."),
});
export type ParameterSchema = z.infer<typeof parameterSchema>;

export const configTemplate = templateRef.extend({
  defaultMode: z.number().int().optional().describe("File mode of the mounted files; 0444 when unset."),
  parameters: z
    .array(parameterSchema)
    .optional()
    .describe(
      "The engine parameters this config renders, with the values each takes and whether it is dynamic. When a definition declares any, a Cluster or OpsRequest naming another parameter, or a value outside its schema, is refused at apply time.",
    ),
  restartOnChange: z
    .boolean()
    .optional()
    .describe("true: any change of the rendered files (e.g. after scaling) restarts the instances."),
});

export const systemAccount = z.object({
  name: z
    .string()
    .min(1)
    .describe("Account name; its credentials are in the Secret `<cluster>-<component>-account-<name>`."),
  initAccount: z
    .boolean()
    .optional()
    .describe(
      "true: the engine creates it when initialised, so the accountProvision action is not run for it.",
    ),
  statement: z
    .string()
    .optional()
    .describe("Extra statement or argument accountProvision receives as TESSERA_ACCOUNT_STATEMENT."),
  passwordLength: z
    .number()
    .int()
    .min(8)
    .max(128)
    .default(24)
    .describe("Length of the generated password (8 to 128, default 24); never regenerated."),
});

export const role = z.object({
  name: dnsLabel.describe(
    "Role name, as the roleProbe action prints it and the tessera.dev/role label shows it.",
  ),
  updatePriority: z
    .number()
    .int()
    .min(0)
    .describe(
      "Rolling updates restart instances of lower priority first; the writable role is normally highest.",
    ),
  writable: z
    .boolean()
    .optional()
    .describe("true: the role that accepts writes. At most one role may be writable."),
  participatesInQuorum: z
    .boolean()
    .optional()
    .describe("Whether instances in this role count towards the engine's quorum; informational."),
});

const notRun = "Declared for the engine; the operator does not run it.";

export const lifecycleActions = z.object({
  roleProbe: probeAction
    .optional()
    .describe(
      "Prints the instance's role (and optionally its replication position); run on every instance every periodSeconds. The role becomes the tessera.dev/role label that services select on.",
    ),
  availableProbe: probeAction.optional().describe(`Whether the instance serves requests. ${notRun}`),
  postProvision: action
    .optional()
    .describe(
      "Run once when the component first reaches Running, e.g. to register instances with each other.",
    ),
  preTerminate: action
    .optional()
    .describe("Run once when the component is deleted, before its instances are."),
  switchover: action
    .optional()
    .describe("Moves the writable role away from an instance before it is restarted or removed."),
  promote: action
    .optional()
    .describe("Makes an instance writable; with operator HA mode, on failover and after a switchover."),
  demote: action
    .optional()
    .describe(
      "Makes a writable instance that lost its role (a returning old primary) follow the current one.",
    ),
  detach: action
    .optional()
    .describe(
      "Stops the instance replicating from anyone, so a lost primary can no longer get its acknowledgements; with operator HA mode, run on every answering replica before failover promotes one. Exits 0 only once replication has stopped.",
    ),
  follow: action
    .optional()
    .describe(
      "Makes a replica replicate from the recorded primary (TESSERA_PRIMARY_POD_*); with operator HA mode, run on every replica after each change of primary.",
    ),
  memberJoin: action.optional().describe("Adds a new instance to the engine's membership once it is ready."),
  memberLeave: action
    .optional()
    .describe("Removes an instance from the engine's membership before scale-in."),
  readonly: action.optional().describe(`Stops the instance from accepting writes. ${notRun}`),
  readwrite: action.optional().describe(`Lets the instance accept writes again. ${notRun}`),
  reconfigure: action
    .optional()
    .describe(
      "Applies changed dynamic parameters (TESSERA_CONFIG_PARAMETERS, JSON) on every ready instance without a restart.",
    ),
  accountProvision: action
    .optional()
    .describe("Creates a system account in the engine; run once per account without initAccount."),
  dataDump: action.optional().describe(`Writes the instance's data to stdout. ${notRun}`),
  dataLoad: action.optional().describe(`Loads data from stdin into the instance. ${notRun}`),
});

export type LifecycleActions = z.infer<typeof lifecycleActions>;
export type LifecycleActionName = keyof LifecycleActions;

export const customOpsParameter = z.object({
  name: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/, "must be lower-case letters, digits and _, starting with a letter")
    .describe(
      "Parameter name, as an OpsRequest's spec.custom.parameters names it; the action gets its value as TESSERA_PARAM_<NAME> (the name in upper case).",
    ),
  type: z
    .enum(["string", "integer", "boolean", "enum"])
    .describe(
      "string (any text), integer (decimal digits, optionally signed), boolean (true or false) or enum (one of enum).",
    ),
  required: z.boolean().optional().describe("true: an OpsRequest must give it."),
  description: z.string().min(1).describe("What the parameter means, for people running the operation."),
  enum: z.array(z.string()).optional().describe("For an enum: the values allowed."),
});

export const customOps = z.object({
  name: dnsLabel.describe(
    "The operation's name, as an OpsRequest's spec.custom.opsName names it, e.g. `vacuum-analyze`.",
  ),
  description: z.string().min(1).describe("What the operation does, for people choosing it."),
  parameters: z
    .array(customOpsParameter)
    .optional()
    .describe(
      "What it takes; an OpsRequest giving another parameter, or a value of the wrong type, is refused.",
    ),
  action: action.describe(
    "The command that performs it, like a lifecycle action (an exec action; see docs/addons.md); its targetPodSelector is ignored, target says where it runs.",
  ),
  target: z
    .enum(["primary", "allReplicas", "each"])
    .default("primary")
    .describe(
      "Where it runs: primary (default) the writable instance (the first ready one when no role is writable); allReplicas every ready instance that is not writable; each every ready instance, the writable one last.",
    ),
});
export type CustomOpsParameter = z.infer<typeof customOpsParameter>;
export type CustomOps = z.infer<typeof customOps>;

export const componentDefinitionSpec = z.object({
  provider: z.string().optional().describe("Who maintains the definition."),
  description: z.string().optional().describe("What the component is, for people choosing an engine."),
  serviceKind: z
    .string()
    .min(1)
    .describe("The engine this component runs, e.g. `postgresql`; shown in kubectl get."),
  runtime: preserved(
    z.looseObject({
      containers: z
        .array(preserved(z.looseObject({ name: z.string().describe("Container name.") })))
        .min(1)
        .describe(
          "Containers of an instance; the first is the database, which component resources apply to.",
        ),
    }),
  ).describe(
    "Pod spec of an instance (a core/v1 PodSpec). Images come from the ComponentVersion's release by container name.",
  ),
  vars: z
    .array(componentVar)
    .optional()
    .describe("Values the operator resolves in order and gives to pods, config templates and actions."),
  volumes: z
    .array(
      z.object({
        name: z
          .string()
          .describe("Volume name, as the pod spec mounts it and a Cluster's volumeClaimTemplates name it."),
        needSnapshot: z.boolean().optional().describe("Whether backups snapshot this volume."),
      }),
    )
    .optional()
    .describe("Data volumes; each is a persistent claim when the Cluster gives one, else an emptyDir."),
  services: z.array(componentService).optional().describe("Services of the component."),
  configs: z
    .array(configTemplate)
    .optional()
    .describe(
      "Config file templates (Liquid, with vars, parameters, resources, component and cluster) rendered into ConfigMaps and mounted into the pods. A change of the template files restarts the instances.",
    ),
  scripts: z
    .array(templateRef)
    .optional()
    .describe("Script files mounted into the pods as they are (not rendered)."),
  systemAccounts: z
    .array(systemAccount)
    .optional()
    .describe("Accounts the engine needs; each gets a generated password in a Secret."),
  roles: z
    .array(role)
    .optional()
    .describe("Roles an instance can have (e.g. primary, secondary), as reported by roleProbe."),
  replicasLimit: z
    .object({
      minReplicas: z.number().int().min(0).describe("Fewest instances a Cluster may ask for."),
      maxReplicas: z.number().int().min(1).describe("Most instances a Cluster may ask for."),
    })
    .optional()
    .describe("Bounds of a component's replicas, checked when a Cluster is applied."),
  updateStrategy: z
    .enum(["Serial", "Parallel"])
    .default("Serial")
    .describe(
      "How a change rolls out: Serial (default) restarts one instance at a time, lowest updatePriority first, after a switchover away from the writable one; Parallel restarts all at once.",
    ),
  haMode: z
    .enum(["operator", "native", "none"])
    .default("none")
    .describe(
      "Who decides the writable instance: operator (Tessera fails over with promote and fences the old primary), native (the engine's own consensus; Tessera only labels roles) or none (default).",
    ),
  exporter: z
    .object({
      containerName: z.string().describe("The exporter's container in runtime; a Cluster may leave it out."),
      scrapePort: z.string().describe("Name of the container port serving metrics."),
      scrapePath: z.string().default("/metrics").describe("HTTP path of the metrics; /metrics by default."),
    })
    .optional()
    .describe("The Prometheus metrics endpoint of an instance."),
  lifecycleActions: lifecycleActions
    .optional()
    .describe(
      "Commands the operator runs in the pods at points of the component's life (see docs/addons.md).",
    ),
  customOps: z
    .array(customOps)
    .optional()
    .describe(
      "Operations users may run on demand through an OpsRequest of type Custom, each an action with typed parameters (e.g. a VACUUM of one database).",
    ),
  backup: componentBackup
    .optional()
    .describe(
      "How the engine is backed up and restored, and how it archives its logs for point-in-time recovery.",
    ),
});

export const componentDefinition = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("ComponentDefinition"),
    metadata: objectMeta,
    spec: componentDefinitionSpec.describe("The blueprint."),
    status: definitionStatus.optional(),
  })
  .describe(
    "The blueprint of one component of an engine: pod template, variables, services, config templates, accounts, roles, HA mode and lifecycle actions. Installed with the engine's addon.",
  );

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
  name: z.string().min(1).describe("Release name, referenced by compatibilityRules."),
  serviceVersion: z
    .string()
    .min(1)
    .describe("The engine version users ask for in a Cluster's serviceVersion, e.g. `16.4`."),
  images: z
    .record(z.string(), z.string())
    .describe("Image per container name of the ComponentDefinition's runtime."),
  upgradeFrom: z
    .array(z.string())
    .optional()
    .describe(
      "Releases (by name) whose instances an Upgrade operation may move to this one, e.g. the previous minor versions; none when unset. A Cluster's serviceVersion edited by hand is not checked.",
    ),
});

export const componentVersionSpec = z.object({
  compatibilityRules: z
    .array(
      z.object({
        compDefs: z
          .array(z.string())
          .min(1)
          .describe(`ComponentDefinitions the releases run with: each ${definitionRef}.`),
        releases: z.array(z.string()).min(1).describe("Names of the releases."),
      }),
    )
    .min(1)
    .describe("Which releases each ComponentDefinition can run."),
  releases: z.array(release).min(1).describe("The engine versions offered and their images."),
});

export const componentVersion = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("ComponentVersion"),
    metadata: objectMeta,
    spec: componentVersionSpec.describe("Releases and their compatibility."),
    status: definitionStatus
      .extend({
        serviceVersions: z.string().optional().describe("The offered service versions, comma-separated."),
        conditions: z.array(condition).optional().describe("Conditions of the definition."),
      })
      .optional()
      .describe("What the operator observed."),
  })
  .describe(
    "The engine versions (releases) of a component and the container images of each. Installed with the engine's addon.",
  );

export type Release = z.infer<typeof release>;
export type ComponentVersion = z.infer<typeof componentVersion>;
