import { z } from "zod";
import { condition, objectMeta, quantity } from "./common.js";

/** Label on every namespace of a tenant: its value is the tenant's name. */
export const TENANT_LABEL = "tessera.dev/tenant";

/** The ClusterRoles a tenant's administrators and members are bound to in its namespaces. */
export const TENANT_ADMIN_ROLE = "tessera-tenant-admin";
export const TENANT_VIEWER_ROLE = "tessera-tenant-viewer";
/** The ClusterRole granting `pods/exec`, bound in a tenant's namespaces to whom its `spec.access.podExec` names. */
export const TENANT_EXEC_ROLE = "tessera-tenant-exec";

/**
 * Groups that carry a tenant's roles whatever the user's name: identities in
 * `tessera:tenant:<name>` are members, in `tessera:tenant:<name>:admins`
 * administrators (a playground client certificate's organisation, or an
 * identity provider's group claim).
 */
export const tenantGroups = (tenant: string) => ({
  members: `tessera:tenant:${tenant}`,
  admins: `tessera:tenant:${tenant}:admins`,
});

/** The namespace of a tenant: one per tenant, named after it. */
export const tenantNamespace = (tenant: string) => tenant;

export const tenantSubjects = z.object({
  users: z.array(z.string().min(1)).optional().describe("User names, as the apiserver authenticates them."),
  groups: z.array(z.string().min(1)).optional().describe("Group names, as the apiserver authenticates them."),
});
export type TenantSubjects = z.infer<typeof tenantSubjects>;

export const tenantQuota = z.object({
  cpu: quantity
    .optional()
    .describe("Total CPU the tenant's database instances may request (e.g. `8`, `2500m`); unset: no limit."),
  memory: quantity
    .optional()
    .describe("Total memory the tenant's database instances may request (e.g. `32Gi`); unset: no limit."),
  storage: quantity
    .optional()
    .describe("Total size of the tenant's instance volumes (e.g. `500Gi`); unset: no limit."),
  clusters: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("Most Clusters the tenant may have; unset: no limit."),
  instances: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("Most database instances over all its Clusters (stopped ones count); unset: no limit."),
});
export type TenantQuota = z.infer<typeof tenantQuota>;
export type QuotaName = keyof TenantQuota;
export const QUOTA_NAMES: QuotaName[] = ["cpu", "memory", "storage", "clusters", "instances"];

export const tenantPodExec = z.enum(["Administrators", "Members", "None"]);
export type TenantPodExec = z.infer<typeof tenantPodExec>;

export const tenantAccess = z.object({
  podExec: tenantPodExec
    .default("Administrators")
    .describe(
      "Who may exec into the tenant's pods (a shell or psql in a database container): Administrators (the default), Members (administrators and members) or None.",
    ),
});
export type TenantAccess = z.infer<typeof tenantAccess>;

export const tenantDeletionPolicy = z.enum(["Refuse", "DeleteClusters"]);
export type TenantDeletionPolicy = z.infer<typeof tenantDeletionPolicy>;

export const tenantSpec = z.object({
  displayName: z.string().optional().describe("Human-readable name, e.g. `Payments team`."),
  administrators: tenantSubjects
    .optional()
    .describe(
      "Who manages the tenant's databases: create, change and delete Clusters, OpsRequests and backups, read account Secrets and logs of instances, and exec into them (see spec.access.podExec).",
    ),
  members: tenantSubjects
    .optional()
    .describe(
      "Who may look at the tenant's databases: read Clusters, OpsRequests, pods and logs, no Secrets.",
    ),
  access: tenantAccess.optional().describe("What the tenant's users may do beyond their roles' defaults."),
  quota: tenantQuota
    .optional()
    .describe(
      "Upper bounds over all the tenant's Clusters, checked when a Cluster is created or changed and when an OpsRequest scales or resizes one; a request that would exceed one is refused.",
    ),
  allowedAddons: z
    .array(z.string().min(1))
    .optional()
    .describe(
      "Addons (engines) whose definitions the tenant's Clusters may use, e.g. `[postgresql]`; unset: all.",
    ),
  networkIsolation: z
    .boolean()
    .default(true)
    .describe(
      "true: pods of other namespaces cannot connect to the tenant's pods, except the operator's and monitoring (namespaces labelled `tessera.dev/monitoring=true`). Default true.",
    ),
  defaultBackupRepo: z
    .string()
    .optional()
    .describe("BackupRepo the tenant's backups go to when none is named."),
  deletionPolicy: tenantDeletionPolicy
    .default("Refuse")
    .describe(
      "What deleting the tenant does while it has Clusters: Refuse (the default) refuses the deletion; DeleteClusters deletes its namespace and so its Clusters, each per its terminationPolicy (a DoNotTerminate one still refuses).",
    ),
});
export type TenantSpec = z.infer<typeof tenantSpec>;

export const tenantUsage = z.object({
  cpu: z.string().optional().describe("CPU requested by the tenant's instances."),
  memory: z.string().optional().describe("Memory requested by the tenant's instances."),
  storage: z.string().optional().describe("Size of the tenant's instance volumes."),
  clusters: z.number().int().optional().describe("Number of Clusters."),
  instances: z.number().int().optional().describe("Number of instances."),
});
export type TenantUsage = z.infer<typeof tenantUsage>;

export const tenantStatus = z
  .object({
    phase: z
      .enum(["Pending", "Ready", "Failed"])
      .optional()
      .describe("Ready once its namespace, quota, roles and policies are in place."),
    observedGeneration: z.number().int().optional().describe("The metadata.generation the status reflects."),
    namespaces: z.array(z.string()).optional().describe("The tenant's namespaces."),
    usage: tenantUsage.optional().describe("What the tenant's Clusters use, to compare with spec.quota."),
    conditions: z
      .array(condition)
      .optional()
      .describe(
        "`Ready`: its objects are in place; `WithinQuota`: usage is within every quota (False after a quota was exceeded by objects made outside the webhook).",
      ),
  })
  .describe(
    "What the operator last found: the tenant's namespaces, what its Clusters use, and whether all is in place.",
  );
export type TenantStatus = z.infer<typeof tenantStatus>;

export const tenant = z
  .object({
    apiVersion: z.string(),
    kind: z.literal("Tenant"),
    metadata: objectMeta,
    spec: tenantSpec.describe("Who the tenant's users are and what they may use."),
    status: tenantStatus.optional(),
  })
  .describe(
    "A team sharing the platform: a namespace of its own (named after the tenant) with quotas, roles for its users and network isolation from other tenants.",
  );
export type Tenant = z.infer<typeof tenant>;
