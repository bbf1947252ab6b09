import { isDeepStrictEqual } from "node:util";
import type { V1Namespace } from "@kubernetes/client-node";
import type { z } from "zod";
import {
  API_VERSION,
  QUOTA_NAMES,
  TENANT_LABEL,
  clusterSpec,
  dnsLabel,
  fieldPath,
  labels,
  opsRequestSpec,
  tenantNamespace,
  tenantSpec,
  type Cluster,
  type ClusterComponentSpec,
  type OpsRequest,
  type OpsRequestSpec,
  type QuotaName,
  type Tenant,
} from "@tessera/api";
import type { KubeClient } from "@tessera/kube";
import { DefinitionError, quotedList, resolveCluster, type DefinitionCatalog } from "../definitions.js";
import { configurationOf } from "../ops/cluster-spec.js";
import { scalingTarget } from "../ops/handlers/horizontal-scaling.js";
import { mergeResources } from "../ops/handlers/vertical-scaling.js";
import { grown } from "../ops/handlers/volume-expansion.js";
import { tenantUsage } from "../tenant/controller.js";
import { clusterUsage, formatAmount, quotaLimit } from "../tenant/usage.js";

/** The parts of an admission request the tenant checks read. */
export interface TenantAdmission {
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  resource?: { resource: string };
  subResource?: string;
  namespace?: string;
  object?: unknown;
  oldObject?: unknown;
}

/**
 * Why a request is refused for a tenant's sake, or undefined: a Cluster or
 * an operation that would take a tenant past its quota or use an addon it may
 * not; a Tenant quota lowered below what its Clusters use; deleting a Tenant
 * that still has Clusters. Everything is read from the apiserver, not a cache:
 * a Cluster created a moment ago counts.
 */
export async function tenantRefusal(
  client: KubeClient,
  catalog: DefinitionCatalog,
  request: TenantAdmission,
): Promise<string | undefined> {
  if (request.subResource) return undefined;
  const resource = request.resource?.resource;
  if (resource === "tenants") return tenantChangeRefusal(client, request);
  if (resource === "clusters" && (request.operation === "CREATE" || request.operation === "UPDATE")) {
    const cluster = parsedCluster(request.object);
    const old = request.operation === "UPDATE" ? parsedCluster(request.oldObject) : undefined;
    // A spec the schema refuses is reported by the Cluster validation, with its fields.
    if (!cluster || cluster.metadata.deletionTimestamp) return undefined;
    if (old && isDeepStrictEqual(old.spec, cluster.spec)) return undefined;
    return clusterRefusal(client, catalog, request.namespace, cluster, old);
  }
  if (resource === "opsrequests" && request.operation === "CREATE") {
    return opsRefusal(client, catalog, request.namespace, request.object as OpsRequest);
  }
  return undefined;
}

/** The Cluster with its spec's defaults filled in, or undefined when the spec does not parse. */
function parsedCluster(object: unknown): Cluster | undefined {
  const cluster = object as Cluster | undefined;
  const spec = clusterSpec.safeParse(cluster?.spec);
  return cluster && spec.success ? { ...cluster, spec: spec.data } : undefined;
}

/** The Tenant a namespace belongs to (by its label), if any. */
export async function tenantOf(
  client: KubeClient,
  namespace: string | undefined,
): Promise<Tenant | undefined> {
  if (!namespace) return undefined;
  const ns = await client.find<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: namespace });
  const name = ns?.metadata?.labels?.[TENANT_LABEL];
  return name ? client.find<Tenant>({ apiVersion: API_VERSION, kind: "Tenant", name }) : undefined;
}

async function clustersIn(client: KubeClient, namespaces: string[]): Promise<Cluster[]> {
  const lists = await Promise.all(
    namespaces.map((namespace) => client.list<Cluster>(API_VERSION, "Cluster", { namespace })),
  );
  return lists.flatMap((list) => list.items);
}

/** The addons whose definitions a spec uses; none when the definitions do not resolve (refused elsewhere). */
function addonsOf(catalog: DefinitionCatalog, cluster: Pick<Cluster, "spec">): string[] {
  try {
    const resolved = resolveCluster(catalog, cluster);
    return [
      ...new Set(
        resolved.components.map((c) => c.compDef.metadata.labels?.[labels.addon] ?? c.compDef.metadata.name!),
      ),
    ];
  } catch (error) {
    if (error instanceof DefinitionError) return [];
    throw error;
  }
}

const quotaPath = (name: QuotaName) => `spec.quota.${name}`;

/**
 * Refusals for a Cluster that would be `cluster` instead of `old` (nothing on
 * a create): each quota whose use it raises above the tenant's limit, naming
 * the limit, what the tenant's other Clusters use and what this one asks.
 */
async function clusterRefusal(
  client: KubeClient,
  catalog: DefinitionCatalog,
  namespace: string | undefined,
  cluster: Cluster,
  old: Cluster | undefined,
  what = "this cluster",
): Promise<string | undefined> {
  const tenant = await tenantOf(client, namespace);
  if (!tenant) return undefined;
  const name = tenant.metadata.name!;
  const errors: string[] = [];
  const allowed = tenant.spec.allowedAddons;
  if (allowed) {
    const before = old ? addonsOf(catalog, old) : [];
    const refused = addonsOf(catalog, cluster).filter((a) => !allowed.includes(a) && !before.includes(a));
    if (refused.length) {
      errors.push(
        `tenant "${name}" spec.allowedAddons: the tenant may not use addon ${quotedList(refused)}; allowed: ${quotedList(allowed)}`,
      );
    }
  }
  const clusters = (await clustersIn(client, [namespace!])).filter(
    (c) => c.metadata.name !== cluster.metadata.name,
  );
  const others = tenantUsage(clusters);
  const wanted = clusterUsage(cluster.spec);
  const had = old ? clusterUsage(old.spec) : undefined;
  for (const quota of QUOTA_NAMES) {
    const limit = quotaLimit(tenant.spec.quota, quota);
    if (limit === undefined || others[quota] + wanted[quota] <= limit) continue;
    if (had && wanted[quota] <= had[quota]) continue;
    const amount = (value: number) => formatAmount(quota, value);
    const asks = had ? `${amount(wanted[quota])} (now ${amount(had[quota])})` : amount(wanted[quota]);
    errors.push(
      `tenant "${name}" ${quotaPath(quota)}: quota ${quota} is ${amount(limit)}, its other clusters use ${amount(others[quota])} and ${what} needs ${asks}, ${amount(others[quota] + wanted[quota])} in all; free some or raise the quota`,
    );
  }
  return errors.length ? errors.join("; ") : undefined;
}

/** A component's spec after a scaling or resizing operation's entry for it. */
function afterOperation(op: OpsRequestSpec, spec: ClusterComponentSpec): ClusterComponentSpec {
  const name = spec.name;
  const horizontal = op.horizontalScaling?.find((e) => e.componentName === name);
  const vertical = op.verticalScaling?.find((e) => e.componentName === name);
  const volumes = op.volumeExpansion?.find((e) => e.componentName === name);
  if (op.type === "HorizontalScaling" && horizontal) {
    return { ...spec, ...scalingTarget(horizontal, configurationOf(spec)) };
  }
  if (op.type === "VerticalScaling" && vertical) {
    return { ...spec, resources: mergeResources(spec.resources, vertical.resources) };
  }
  if (op.type === "VolumeExpansion" && volumes) {
    return { ...spec, ...grown(spec, volumes.volumeClaimTemplates) };
  }
  return spec;
}

const RESIZING = new Set(["HorizontalScaling", "VerticalScaling", "VolumeExpansion"]);

/** A scaling or resizing operation is checked as the Cluster update it will write. */
async function opsRefusal(
  client: KubeClient,
  catalog: DefinitionCatalog,
  namespace: string | undefined,
  op: OpsRequest,
): Promise<string | undefined> {
  const parsed = opsRequestSpec.safeParse(op.spec);
  // An operation the schema refuses is reported by the OpsRequest validation.
  if (!parsed.success || !RESIZING.has(parsed.data.type) || !parsed.data.clusterName) return undefined;
  const spec = parsed.data;
  const current = parsedCluster(
    await client.find<Cluster>({
      apiVersion: API_VERSION,
      kind: "Cluster",
      namespace,
      name: spec.clusterName,
    }),
  );
  if (!current) return undefined;
  const after: Cluster = {
    ...current,
    spec: {
      ...current.spec,
      componentSpecs: current.spec.componentSpecs.map((c) => afterOperation(spec, c)),
    },
  };
  return clusterRefusal(client, catalog, namespace, after, current, `this ${spec.type}`);
}

/** Tenant creates, updates and deletes. */
async function tenantChangeRefusal(
  client: KubeClient,
  request: TenantAdmission,
): Promise<string | undefined> {
  if (request.operation === "DELETE") {
    const tenant = request.oldObject as Tenant | undefined;
    return tenant ? deletionRefusal(client, tenant) : undefined;
  }
  const tenant = request.object as Tenant;
  if (tenant.metadata.deletionTimestamp) return undefined;
  const old = request.operation === "UPDATE" ? (request.oldObject as Tenant) : undefined;
  if (old && isDeepStrictEqual(old.spec, tenant.spec)) return undefined;
  const parsed = tenantSpec.safeParse(tenant.spec);
  if (!parsed.success) {
    return parsed.error.issues
      .map((issue: z.core.$ZodIssue) => `${fieldPath("spec", issue.path)}: ${issue.message}`)
      .join("; ");
  }
  const name = tenant.metadata.name!;
  const errors: string[] = [];
  if (!old) {
    if (!dnsLabel.safeParse(name).success) {
      errors.push(
        `metadata.name: "${name}" must be a DNS label (lower-case letters, digits and '-'): it names the tenant's namespace`,
      );
    }
    const namespace = tenantNamespace(name);
    const existing = await client.find<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: namespace });
    const owner = existing?.metadata?.labels?.[TENANT_LABEL];
    if (existing && owner !== name) {
      errors.push(
        owner
          ? `metadata.name: namespace ${namespace} belongs to tenant "${owner}"`
          : `metadata.name: namespace ${namespace} exists and is not a tenant's; choose another name, or label it ${TENANT_LABEL}=${name} to hand it to this tenant`,
      );
    }
  }
  const repo = parsed.data.defaultBackupRepo;
  if (repo && repo !== old?.spec.defaultBackupRepo) {
    if (!(await client.find({ apiVersion: API_VERSION, kind: "BackupRepo", name: repo }))) {
      errors.push(
        `spec.defaultBackupRepo: BackupRepo "${repo}" not found; create it first (tessera backuprepo create)`,
      );
    }
  }
  const usage = tenantUsage(await clustersIn(client, [tenantNamespace(name)]));
  for (const quota of QUOTA_NAMES) {
    const limit = quotaLimit(parsed.data.quota, quota);
    const before = quotaLimit(old?.spec.quota, quota);
    if (limit === undefined || usage[quota] <= limit || (before !== undefined && limit >= before)) continue;
    errors.push(
      `${quotaPath(quota)}: ${formatAmount(quota, limit)} is below what the tenant's clusters use, ${formatAmount(quota, usage[quota])}; delete or shrink clusters first`,
    );
  }
  return errors.length ? errors.join("; ") : undefined;
}

async function deletionRefusal(client: KubeClient, tenant: Tenant): Promise<string | undefined> {
  const name = tenant.metadata.name!;
  const namespaces = [...new Set([tenantNamespace(name), ...(tenant.status?.namespaces ?? [])])];
  const clusters = await clustersIn(client, namespaces);
  if (clusters.length === 0) return undefined;
  const named = quotedList(clusters.map((c) => `${c.metadata.namespace}/${c.metadata.name}`));
  if (tenant.spec.deletionPolicy !== "DeleteClusters") {
    return `tenant "${name}" still has ${clusters.length} cluster(s): ${named}; delete them first, or set spec.deletionPolicy to DeleteClusters to delete them with the tenant`;
  }
  const held = clusters.filter((c) => c.spec.terminationPolicy === "DoNotTerminate");
  if (held.length) {
    return `tenant "${name}" has clusters with terminationPolicy DoNotTerminate: ${quotedList(held.map((c) => `${c.metadata.namespace}/${c.metadata.name}`))}; change their policy before deleting the tenant`;
  }
  return undefined;
}
