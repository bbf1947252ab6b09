import { isDeepStrictEqual } from "node:util";
import type { V1Namespace, V1ResourceQuota } from "@kubernetes/client-node";
import {
  API_VERSION,
  QUOTA_NAMES,
  TENANT_LABEL,
  tenantNamespace,
  type Cluster,
  type Tenant,
  type TenantStatus,
} from "@tessera/api";
import { parseQuantity } from "@tessera/base";
import {
  Controller,
  isNotFound,
  objectKey,
  updateStatus,
  type Informer,
  type KubernetesObject,
  type ReconcileResult,
} from "@tessera/kube";
import { applyUnlessCurrent } from "../apply.js";
import { setCondition } from "../conditions.js";
import type { OperatorContext } from "../context.js";
import {
  TENANT_OBJECT_NAMES,
  catalogBinding,
  execBinding,
  isolationPolicy,
  limitRange,
  resourceQuota,
  roleBindings,
  tenantNamespaceObject,
  tenantReader,
} from "./objects.js";
import {
  NO_USAGE,
  addUsage,
  clusterUsage,
  formatAmount,
  quotaLimit,
  usageStatus,
  type Usage,
} from "./usage.js";

const KIND = "Tenant";

/** The kinds of what a tenant owns, each watched through the tenant label it carries. */
const OWNED = [
  { apiVersion: "v1", kind: "Namespace" },
  { apiVersion: "v1", kind: "ResourceQuota" },
  { apiVersion: "v1", kind: "LimitRange" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole" },
  { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" },
] as const;

/** What a tenant's Clusters use, summed over its namespaces. */
export function tenantUsage(clusters: Cluster[]): Usage {
  return clusters.reduce((sum, c) => addUsage(sum, clusterUsage(c.spec)), NO_USAGE);
}

/** Quotas the usage is above, each as `memory 6Gi > quota 4Gi`. */
export function exceededQuotas(tenant: Tenant, usage: Usage): string[] {
  return QUOTA_NAMES.flatMap((name) => {
    const limit = quotaLimit(tenant.spec.quota, name);
    return limit !== undefined && usage[name] > limit
      ? [`${name} ${formatAmount(name, usage[name])} > quota ${formatAmount(name, limit)}`]
      : [];
  });
}

/**
 * Whether the apiserver enforces the quota as written: until its quota
 * controller has counted usage for every limit, it refuses whatever the quota
 * covers ("status unknown for quota").
 */
function quotaCounted(quota: V1ResourceQuota | undefined, hard: Record<string, string>): boolean {
  const counted = quota?.status?.hard ?? {};
  const used = quota?.status?.used ?? {};
  return Object.entries(hard).every(
    ([name, value]) =>
      counted[name] !== undefined && parseQuantity(counted[name]) === parseQuantity(value) && name in used,
  );
}

/**
 * Keeps each Tenant's namespace (named after it, labelled with it) and in it
 * the ResourceQuota, LimitRange, RoleBindings and NetworkPolicy its spec asks
 * for, all owned by the Tenant so they go with it; reports what its Clusters
 * use against its quota. The webhook refuses what would exceed the quota; the
 * status shows where the tenant stands.
 */
export class TenantController {
  readonly controller: Controller;
  private readonly tenants: Informer<Tenant>;
  private readonly clusters: Informer<Cluster>;
  private readonly owned: Map<string, Informer<KubernetesObject>>;

  constructor(private readonly ctx: OperatorContext) {
    this.tenants = ctx.informers.get<Tenant>(API_VERSION, KIND);
    this.clusters = ctx.informers.get<Cluster>(API_VERSION, "Cluster");
    this.owned = new Map(
      OWNED.map(({ apiVersion, kind }) => [
        kind,
        ctx.informers.get<KubernetesObject>(apiVersion, kind, { labelSelector: TENANT_LABEL }),
      ]),
    );
    this.controller = new Controller({
      name: "tenant",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 2,
      logger: ctx.logger,
    })
      .watches(this.tenants)
      .watchesMapped(this.clusters, (cluster) => {
        const namespace = this.owned.get("Namespace")!.get(cluster.metadata.namespace ?? "");
        const tenant = namespace?.metadata?.labels?.[TENANT_LABEL];
        return tenant ? [tenant] : [];
      });
    for (const informer of this.owned.values()) {
      this.controller.watchesMapped(informer, (object) => {
        const tenant = object.metadata?.labels?.[TENANT_LABEL];
        return tenant ? [tenant] : [];
      });
    }
  }

  private async reconcile(name: string): Promise<ReconcileResult | void> {
    const tenant = this.tenants.get(name);
    if (!tenant || tenant.metadata.deletionTimestamp) return;
    const namespace = tenantNamespace(name);
    const taken = await this.namespaceTaken(name, namespace);
    if (taken)
      return this.record(tenant, namespace, { ready: false, reason: "NamespaceTaken", message: taken });

    await this.apply(tenantNamespaceObject(tenant));
    const quota = resourceQuota(tenant, namespace);
    const wanted: [string, string, KubernetesObject | undefined][] = [
      ["ResourceQuota", TENANT_OBJECT_NAMES.quota, quota],
      ["LimitRange", TENANT_OBJECT_NAMES.limits, limitRange(tenant, namespace)],
      [
        "NetworkPolicy",
        TENANT_OBJECT_NAMES.isolation,
        tenant.spec.networkIsolation === false ? undefined : isolationPolicy(tenant, namespace),
      ],
      ["RoleBinding", TENANT_OBJECT_NAMES.exec, execBinding(tenant, namespace)],
    ];
    for (const [kind, objectName, desired] of wanted) {
      if (desired) await this.apply(desired);
      else await this.remove(kind, namespace, objectName);
    }
    for (const binding of roleBindings(tenant, namespace)) await this.apply(binding);
    await this.apply(catalogBinding(tenant));
    for (const object of tenantReader(tenant)) await this.apply(object);

    const hard = (quota as V1ResourceQuota | undefined)?.spec?.hard ?? {};
    const counted = this.owned.get("ResourceQuota")!.get(`${namespace}/${TENANT_OBJECT_NAMES.quota}`);
    if (!quotaCounted(counted as V1ResourceQuota | undefined, hard as Record<string, string>)) {
      // The quota's status update brings this back; until then the apiserver would refuse Clusters.
      return this.record(tenant, namespace, {
        ready: false,
        reason: "QuotaPending",
        message: `the apiserver has not counted usage for ResourceQuota ${namespace}/${TENANT_OBJECT_NAMES.quota} yet`,
      });
    }
    return this.record(tenant, namespace, {
      ready: true,
      reason: "Ready",
      message: `namespace ${namespace} with its quota, roles${tenant.spec.networkIsolation === false ? "" : " and network isolation"} in place`,
    });
  }

  /** Why the tenant's namespace cannot be its own: it exists without the tenant's label. */
  private async namespaceTaken(tenant: string, namespace: string): Promise<string | undefined> {
    const cached = this.owned.get("Namespace")!.get(namespace);
    const existing =
      cached ??
      (await this.ctx.client.find<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: namespace }));
    const owner = existing?.metadata?.labels?.[TENANT_LABEL];
    if (!existing || owner === tenant) return undefined;
    return owner
      ? `namespace ${namespace} belongs to tenant ${owner}`
      : `namespace ${namespace} exists and is not a tenant's; delete it or label it ${TENANT_LABEL}=${tenant} to hand it to this tenant`;
  }

  private async apply(desired: KubernetesObject): Promise<void> {
    await applyUnlessCurrent(this.ctx.client, this.owned.get(desired.kind!)!, desired);
  }

  private async remove(kind: string, namespace: string, name: string): Promise<void> {
    const informer = this.owned.get(kind)!;
    const cached = informer.get(objectKey({ metadata: { namespace, name } }));
    if (!cached) return;
    try {
      await this.ctx.client.delete({ apiVersion: cached.apiVersion!, kind, namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async record(
    tenant: Tenant,
    namespace: string,
    outcome: { ready: boolean; reason: string; message: string },
  ): Promise<void> {
    const usage = tenantUsage(this.clusters.list(namespace));
    const exceeded = exceededQuotas(tenant, usage);
    const generation = tenant.metadata.generation;
    const ref = { apiVersion: API_VERSION, kind: KIND, name: tenant.metadata.name! };
    const next = (status: TenantStatus | undefined): TenantStatus => {
      const previous: TenantStatus = status ?? {};
      let conditions = setCondition(
        previous.conditions,
        { type: "Ready", status: outcome.ready, reason: outcome.reason, message: outcome.message },
        generation,
      );
      conditions = setCondition(
        conditions,
        exceeded.length
          ? { type: "WithinQuota", status: false, reason: "QuotaExceeded", message: exceeded.join("; ") }
          : {
              type: "WithinQuota",
              status: true,
              reason: "WithinQuota",
              message: "usage is within every quota",
            },
        generation,
      );
      return {
        ...previous,
        phase: outcome.ready ? "Ready" : outcome.reason === "NamespaceTaken" ? "Failed" : "Pending",
        observedGeneration: generation,
        namespaces: [namespace],
        usage: usageStatus(usage),
        conditions,
      };
    };
    // Every status change of a tenant's Cluster reconciles it; most leave its own status as it is.
    if (isDeepStrictEqual(next(tenant.status), tenant.status)) return;
    await updateStatus<Tenant>(this.ctx.client, ref, (current) => {
      current.status = next(current.status);
    });
  }
}
