import { z } from "zod";
import { stringify } from "yaml";
import { API_VERSION, GROUP, VERSION } from "./common.js";
import { cluster, component } from "./cluster.js";
import { clusterDefinition, componentDefinition, componentVersion } from "./definitions.js";
import { instanceSet } from "./instanceset.js";
import { opsRequest } from "./opsrequest.js";
import { backup, backupPolicy, backupRepo, backupSchedule } from "./backup.js";
import { tenant } from "./tenant.js";

interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date";
  jsonPath: string;
  priority?: number;
}

export interface ResourceDescription {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: "Namespaced" | "Cluster";
  schema: z.ZodObject;
  columns: PrinterColumn[];
  categories?: string[];
  /** The `scale` subresource, for `kubectl scale` and autoscalers. */
  scale?: ScaleSubresource;
}

interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** Replicas in spec, the wanted count and a selector string in status. */
const replicasScale: ScaleSubresource = {
  specReplicasPath: ".spec.replicas",
  statusReplicasPath: ".status.replicas",
  labelSelectorPath: ".status.selector",
};

const age: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" };
const phase: PrinterColumn = { name: "Status", type: "string", jsonPath: ".status.phase" };

export const resources: ResourceDescription[] = [
  {
    kind: "ClusterDefinition",
    plural: "clusterdefinitions",
    singular: "clusterdefinition",
    shortNames: ["cd"],
    scope: "Cluster",
    schema: clusterDefinition,
    columns: [{ name: "Topologies", type: "string", jsonPath: ".spec.topologies[*].name" }, phase, age],
  },
  {
    kind: "ComponentDefinition",
    plural: "componentdefinitions",
    singular: "componentdefinition",
    shortNames: ["cmpd"],
    scope: "Cluster",
    schema: componentDefinition,
    columns: [
      { name: "Service", type: "string", jsonPath: ".spec.serviceKind" },
      { name: "HA", type: "string", jsonPath: ".spec.haMode" },
      phase,
      age,
    ],
  },
  {
    kind: "ComponentVersion",
    plural: "componentversions",
    singular: "componentversion",
    shortNames: ["cmpv"],
    scope: "Cluster",
    schema: componentVersion,
    columns: [{ name: "Versions", type: "string", jsonPath: ".status.serviceVersions" }, phase, age],
  },
  {
    kind: "Cluster",
    plural: "clusters",
    singular: "cluster",
    shortNames: ["cl"],
    scope: "Namespaced",
    schema: cluster,
    categories: ["tessera", "all"],
    columns: [
      { name: "Engine", type: "string", jsonPath: ".status.engine" },
      { name: "Topology", type: "string", jsonPath: ".spec.topology" },
      { name: "Termination-Policy", type: "string", jsonPath: ".spec.terminationPolicy" },
      phase,
      age,
    ],
  },
  {
    kind: "Component",
    plural: "components",
    singular: "component",
    shortNames: ["cmp"],
    scope: "Namespaced",
    schema: component,
    categories: ["tessera"],
    scale: replicasScale,
    columns: [
      { name: "Definition", type: "string", jsonPath: ".spec.compDef" },
      { name: "Version", type: "string", jsonPath: ".status.serviceVersion" },
      { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
      { name: "Primary", type: "string", jsonPath: ".status.ha.primary" },
      phase,
      age,
    ],
  },
  {
    kind: "InstanceSet",
    plural: "instancesets",
    singular: "instanceset",
    shortNames: ["its"],
    scope: "Namespaced",
    schema: instanceSet,
    categories: ["tessera"],
    scale: replicasScale,
    columns: [
      { name: "Desired", type: "integer", jsonPath: ".spec.replicas" },
      { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas" },
      { name: "Updated", type: "integer", jsonPath: ".status.updatedReplicas" },
      age,
    ],
  },
  {
    kind: "OpsRequest",
    plural: "opsrequests",
    singular: "opsrequest",
    shortNames: ["ops"],
    scope: "Namespaced",
    schema: opsRequest,
    categories: ["tessera"],
    columns: [
      { name: "Type", type: "string", jsonPath: ".spec.type" },
      { name: "Cluster", type: "string", jsonPath: ".spec.clusterName" },
      phase,
      { name: "Progress", type: "string", jsonPath: ".status.progress" },
      age,
    ],
  },
  {
    kind: "BackupRepo",
    plural: "backuprepos",
    singular: "backuprepo",
    shortNames: ["brepo"],
    scope: "Cluster",
    schema: backupRepo,
    categories: ["tessera"],
    columns: [
      { name: "Kind", type: "string", jsonPath: ".spec.kind" },
      phase,
      { name: "Last-Check", type: "date", jsonPath: ".status.lastCheckTime" },
      age,
    ],
  },
  {
    kind: "Backup",
    plural: "backups",
    singular: "backup",
    shortNames: ["bk"],
    scope: "Namespaced",
    schema: backup,
    categories: ["tessera"],
    columns: [
      { name: "Cluster", type: "string", jsonPath: ".spec.clusterName" },
      { name: "Method", type: "string", jsonPath: ".status.method" },
      { name: "Repo", type: "string", jsonPath: ".status.repo" },
      phase,
      { name: "Size", type: "integer", jsonPath: ".status.sizeBytes" },
      { name: "Completed", type: "date", jsonPath: ".status.completionTime" },
      age,
    ],
  },
  {
    kind: "BackupPolicy",
    plural: "backuppolicies",
    singular: "backuppolicy",
    shortNames: ["bp"],
    scope: "Namespaced",
    schema: backupPolicy,
    categories: ["tessera"],
    columns: [
      { name: "Cluster", type: "string", jsonPath: ".spec.clusterName" },
      { name: "Repo", type: "string", jsonPath: ".spec.repo" },
      { name: "Method", type: "string", jsonPath: ".spec.method" },
      age,
    ],
  },
  {
    kind: "BackupSchedule",
    plural: "backupschedules",
    singular: "backupschedule",
    shortNames: ["bs"],
    scope: "Namespaced",
    schema: backupSchedule,
    categories: ["tessera"],
    columns: [
      { name: "Policy", type: "string", jsonPath: ".spec.policy" },
      { name: "Schedule", type: "string", jsonPath: ".spec.schedule" },
      { name: "Last", type: "date", jsonPath: ".status.lastScheduleTime" },
      { name: "Next", type: "string", jsonPath: ".status.nextScheduleTime" },
      { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      age,
    ],
  },
  {
    kind: "Tenant",
    plural: "tenants",
    singular: "tenant",
    shortNames: ["tn"],
    scope: "Cluster",
    schema: tenant,
    categories: ["tessera"],
    columns: [
      { name: "Display-Name", type: "string", jsonPath: ".spec.displayName" },
      { name: "Clusters", type: "integer", jsonPath: ".status.usage.clusters" },
      phase,
      age,
    ],
  },
];

type JsonSchema = Record<string, unknown>;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Turns zod's OpenAPI output into a Kubernetes structural schema: no
 * `$schema`/`additionalProperties: false`, int-or-string and
 * preserve-unknown-fields markers instead of unions and open maps, and no
 * meaningless ±2^53 integer bounds.
 */
export function toStructural(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema") continue;
    if (key === "additionalProperties" && (value === false || schema["x-kubernetes-preserve-unknown-fields"]))
      continue;
    if ((key === "minimum" && value === -MAX_SAFE) || (key === "maximum" && value === MAX_SAFE)) continue;
    if (key === "anyOf" && schema["x-kubernetes-int-or-string"]) continue;
    if (key === "anyOf" || key === "oneOf" || key === "allOf") {
      throw new Error(`unions are not structural: ${JSON.stringify(schema).slice(0, 200)}`);
    }
    if (key === "properties") {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, toStructural(v)]),
      );
    } else if ((key === "items" || key === "additionalProperties") && typeof value === "object" && value) {
      out[key] = toStructural(value as JsonSchema);
    } else {
      out[key] = value;
    }
  }
  return out;
}

export function openApiSchema(resource: ResourceDescription): JsonSchema {
  const raw = z.toJSONSchema(resource.schema, { target: "openapi-3.0", io: "input" }) as JsonSchema;
  const structural = toStructural(raw);
  const properties = structural.properties as Record<string, JsonSchema>;
  // The apiserver owns these. A CRD may say nothing about metadata but its type, not even a
  // description: the published schema (and so kubectl explain) documents it as ObjectMeta.
  properties.apiVersion = {
    type: "string",
    description: `The versioned schema of this object: ${API_VERSION}.`,
  };
  properties.kind = { type: "string", description: `The kind of this object: ${resource.kind}.` };
  properties.metadata = { type: "object" };
  structural.required = (structural.required as string[]).filter(
    (r) => !["apiVersion", "kind", "metadata"].includes(r),
  );
  return structural;
}

export function customResourceDefinition(resource: ResourceDescription): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${resource.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: resource.scope,
      names: {
        kind: resource.kind,
        listKind: `${resource.kind}List`,
        plural: resource.plural,
        singular: resource.singular,
        shortNames: resource.shortNames,
        ...(resource.categories ? { categories: resource.categories } : {}),
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {}, ...(resource.scale ? { scale: resource.scale } : {}) },
          additionalPrinterColumns: resource.columns,
          schema: { openAPIV3Schema: openApiSchema(resource) },
        },
      ],
    },
  };
}

/** The CRD manifests, as written to deploy/crds/. */
export function renderCrdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const resource of resources) {
    const crd = customResourceDefinition(resource);
    files.set(`${resource.plural}.${GROUP}.yaml`, stringify(crd, { lineWidth: 0 }));
  }
  return files;
}
