import {
  GROUP,
  MANAGED_BY,
  TENANT_ADMIN_ROLE,
  TENANT_EXEC_ROLE,
  TENANT_LABEL,
  TENANT_VIEWER_ROLE,
  labels,
  tenantGroups,
  tenantNamespace,
  type Tenant,
  type TenantSubjects,
} from "@tessera/api";
import type { KubernetesObject } from "@tessera/kube";
import { ownerReference } from "../component/workload.js";

/** Cluster-wide role every tenant user gets: reading which engines and storage classes there are. */
export const TENANT_CATALOG_ROLE = "tessera-tenant-catalog";
/** Label of namespaces whose pods may reach every tenant's pods (a Prometheus, say). */
export const MONITORING_LABEL = "tessera.dev/monitoring";
/** Label of the operator's namespace (deploy/namespace.yaml), whose pods reach every tenant's pods. */
export const OPERATOR_NAMESPACE_LABEL = { "app.kubernetes.io/part-of": "tessera" };

export const TENANT_OBJECT_NAMES = {
  quota: "tessera-tenant",
  limits: "tessera-tenant",
  admins: "tessera-tenant-admins",
  members: "tessera-tenant-members",
  exec: "tessera-tenant-exec",
  isolation: "tessera-tenant-isolation",
  catalog: (tenant: string) => `tessera-tenant-${tenant}-catalog`,
  reader: (tenant: string) => `tessera-tenant-${tenant}`,
} as const;

type Subject = { kind: "User" | "Group"; apiGroup: "rbac.authorization.k8s.io"; name: string };

function subjects(listed: TenantSubjects | undefined, group: string): Subject[] {
  const apiGroup = "rbac.authorization.k8s.io" as const;
  const groups = [...new Set([group, ...(listed?.groups ?? [])])];
  return [
    ...[...new Set(listed?.users ?? [])].map((name): Subject => ({ kind: "User", apiGroup, name })),
    ...groups.map((name): Subject => ({ kind: "Group", apiGroup, name })),
  ];
}

function meta(tenant: Tenant, name: string, namespace?: string) {
  return {
    name,
    ...(namespace ? { namespace } : {}),
    labels: { [labels.managedBy]: MANAGED_BY, [TENANT_LABEL]: tenant.metadata.name! },
    ownerReferences: [ownerReference(tenant)],
  };
}

export function tenantNamespaceObject(tenant: Tenant): KubernetesObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: meta(tenant, tenantNamespace(tenant.metadata.name!)),
  };
}

/**
 * The apiserver's own backstop for the total size of volume claims. The
 * other quotas are the webhook's: CPU and memory count database containers,
 * which is what a quota in a Tenant means, while a ResourceQuota would also
 * count every sidecar and a backup's pods and refuse pods the webhook
 * admitted; and an object count of Clusters is enforced only after the
 * controller-manager's quota controller has discovered the kind and
 * recounted (up to its five-minute resync), refusing every Cluster until then.
 */
export function resourceQuota(tenant: Tenant, namespace: string): KubernetesObject | undefined {
  const quota = tenant.spec.quota;
  const hard: Record<string, string> = {};
  if (quota?.storage !== undefined) hard["requests.storage"] = String(quota.storage);
  if (Object.keys(hard).length === 0) return undefined;
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: meta(tenant, TENANT_OBJECT_NAMES.quota, namespace),
    spec: { hard },
  } as KubernetesObject;
}

/**
 * No single container may ask for more CPU or memory than the whole tenant,
 * nor a single claim for more than its storage. Kubernetes gives a container
 * without limits the maximum as its limit and, unless told otherwise, as its
 * request too: a sidecar would then reserve the whole tenant. The default
 * request is zero instead, as it was without the LimitRange.
 */
export function limitRange(tenant: Tenant, namespace: string): KubernetesObject | undefined {
  const quota = tenant.spec.quota;
  const container: Record<string, string> = {};
  if (quota?.cpu !== undefined) container.cpu = String(quota.cpu);
  if (quota?.memory !== undefined) container.memory = String(quota.memory);
  const limits: Record<string, unknown>[] = [];
  if (Object.keys(container).length) {
    const zero = Object.fromEntries(Object.keys(container).map((name) => [name, "0"]));
    limits.push({ type: "Container", max: container, default: container, defaultRequest: zero });
  }
  if (quota?.storage !== undefined)
    limits.push({ type: "PersistentVolumeClaim", max: { storage: String(quota.storage) } });
  if (limits.length === 0) return undefined;
  return {
    apiVersion: "v1",
    kind: "LimitRange",
    metadata: meta(tenant, TENANT_OBJECT_NAMES.limits, namespace),
    spec: { limits },
  } as KubernetesObject;
}

function roleBinding(tenant: Tenant, namespace: string, name: string, role: string, subjects: Subject[]) {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: meta(tenant, name, namespace),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
    subjects,
  } as KubernetesObject;
}

/** Administrators (and the tenant's admins group) run databases; members (and its group) look at them. */
export function roleBindings(tenant: Tenant, namespace: string): KubernetesObject[] {
  const groups = tenantGroups(tenant.metadata.name!);
  return [
    roleBinding(
      tenant,
      namespace,
      TENANT_OBJECT_NAMES.admins,
      TENANT_ADMIN_ROLE,
      subjects(tenant.spec.administrators, groups.admins),
    ),
    roleBinding(
      tenant,
      namespace,
      TENANT_OBJECT_NAMES.members,
      TENANT_VIEWER_ROLE,
      subjects(tenant.spec.members, groups.members),
    ),
  ];
}

/**
 * Who may exec into the tenant's pods, per `spec.access.podExec`: its administrators (the
 * default), administrators and members, or nobody (no binding).
 */
export function execBinding(tenant: Tenant, namespace: string): KubernetesObject | undefined {
  const who = tenant.spec.access?.podExec ?? "Administrators";
  if (who === "None") return undefined;
  const groups = tenantGroups(tenant.metadata.name!);
  return roleBinding(tenant, namespace, TENANT_OBJECT_NAMES.exec, TENANT_EXEC_ROLE, [
    ...subjects(tenant.spec.administrators, groups.admins),
    ...(who === "Members" ? subjects(tenant.spec.members, groups.members) : []),
  ]);
}

function clusterRoleBinding(tenant: Tenant, name: string, role: string): KubernetesObject {
  const groups = tenantGroups(tenant.metadata.name!);
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: meta(tenant, name),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
    subjects: [
      ...subjects(tenant.spec.administrators, groups.admins),
      ...subjects(tenant.spec.members, groups.members),
    ],
  } as KubernetesObject;
}

/** Every user of the tenant reads the installed engines, to write Clusters against them. */
export function catalogBinding(tenant: Tenant): KubernetesObject {
  const name = tenant.metadata.name!;
  return clusterRoleBinding(tenant, TENANT_OBJECT_NAMES.catalog(name), TENANT_CATALOG_ROLE);
}

/**
 * Every user of the tenant reads the Tenant itself (its quota and usage), and
 * no other: a role naming the one object, which the operator may grant as it
 * holds that permission itself.
 */
export function tenantReader(tenant: Tenant): KubernetesObject[] {
  const name = tenant.metadata.name!;
  const role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: meta(tenant, TENANT_OBJECT_NAMES.reader(name)),
    rules: [{ apiGroups: [GROUP], resources: ["tenants"], resourceNames: [name], verbs: ["get"] }],
  } as KubernetesObject;
  return [
    role,
    clusterRoleBinding(tenant, TENANT_OBJECT_NAMES.reader(name), TENANT_OBJECT_NAMES.reader(name)),
  ];
}

/**
 * Ingress to the tenant's pods from its own namespace, the operator's
 * namespace and monitoring namespaces only; egress stays open (a database
 * may need to reach an object store for its backups).
 */
export function isolationPolicy(tenant: Tenant, namespace: string): KubernetesObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(tenant, TENANT_OBJECT_NAMES.isolation, namespace),
    spec: {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            { podSelector: {} },
            { namespaceSelector: { matchLabels: OPERATOR_NAMESPACE_LABEL } },
            { namespaceSelector: { matchLabels: { [MONITORING_LABEL]: "true" } } },
          ],
        },
      ],
    },
  } as KubernetesObject;
}
