import {
  API_VERSION,
  QUOTA_NAMES,
  tenantNamespace,
  type Tenant,
  type TenantDeletionPolicy,
  type TenantPodExec,
  type TenantQuota,
  type TenantSpec,
  type TenantSubjects,
} from "@tessera/api";
import { ApiError, StopWaiting, waitFor, type KubeClient } from "@tessera/kube";
import { UsageError } from "../errors.js";
import { notInstalled } from "../not-installed.js";
import type { OutputFormat } from "../options.js";
import { age, fields, print, serialize, table, withoutManagedFields } from "../output.js";
import type { Session } from "../session.js";
import { Spinner } from "../spinner.js";

export interface TenantOptions {
  displayName?: string;
  admin?: string[];
  member?: string[];
  cpu?: string;
  memory?: string;
  storage?: string;
  clusters?: number;
  instances?: number;
  addons?: string;
  networkIsolation: boolean;
  backupRepo?: string;
  podExec?: TenantPodExec;
  deletionPolicy?: TenantDeletionPolicy;
  wait?: boolean;
  timeout: number;
  output: OutputFormat;
}

export interface ListTenantsOptions {
  output: OutputFormat;
}

export interface DeleteTenantOptions {
  wait?: boolean;
  timeout: number;
}

export interface AddUserOptions {
  admin?: boolean;
  group?: boolean;
}

const ref = (name: string) => ({ apiVersion: API_VERSION, kind: "Tenant", name });

/** The quota the flags set (only those given). */
function quotaOf(options: TenantOptions): TenantQuota {
  const quota: TenantQuota = {};
  for (const name of QUOTA_NAMES) {
    const value = options[name];
    if (value !== undefined) Object.assign(quota, { [name]: value });
  }
  return quota;
}

/** The spec fields the flags set; `edit` merges them into the tenant, `create` writes them. */
export function tenantSpecOf(options: TenantOptions): Partial<TenantSpec> {
  const quota = quotaOf(options);
  const addons = options.addons
    ?.split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  return {
    ...(options.displayName !== undefined ? { displayName: options.displayName } : {}),
    ...(options.admin?.length ? { administrators: { users: options.admin } } : {}),
    ...(options.member?.length ? { members: { users: options.member } } : {}),
    ...(Object.keys(quota).length ? { quota } : {}),
    ...(addons ? { allowedAddons: addons } : {}),
    ...(options.networkIsolation === false ? { networkIsolation: false } : {}),
    ...(options.backupRepo ? { defaultBackupRepo: options.backupRepo } : {}),
    ...(options.podExec ? { access: { podExec: options.podExec } } : {}),
    ...(options.deletionPolicy ? { deletionPolicy: options.deletionPolicy } : {}),
  };
}

/** An apiserver refusal as the CLI says it; a missing Tessera API as "not installed". */
function refused(server: string, what: string, error: unknown): unknown {
  if (error instanceof ApiError && error.statusCode === 404 && error.reason !== "NotFound")
    return notInstalled(server);
  if (error instanceof ApiError && [403, 404, 409, 422].includes(error.statusCode)) {
    return new Error(`${what}: ${error.message}`);
  }
  return error;
}

async function getTenant(client: KubeClient, server: string, name: string): Promise<Tenant> {
  try {
    return await client.get<Tenant>(ref(name));
  } catch (error) {
    throw refused(server, `tenant ${name}`, error);
  }
}

export async function createTenant(session: Session, name: string, options: TenantOptions): Promise<void> {
  const conn = await session.kube();
  let created: Tenant;
  try {
    created = await conn.client.create<Tenant>({
      apiVersion: API_VERSION,
      kind: "Tenant",
      metadata: { name },
      spec: tenantSpecOf(options) as TenantSpec,
    });
  } catch (error) {
    throw refused(conn.server, `tenant ${name} was refused`, error);
  }
  if (options.output !== "table") print(serialize(withoutManagedFields(created), options.output));
  else print(`Tenant ${name} created: namespace ${tenantNamespace(name)}`);
  if (!options.wait) return;
  await Spinner.run(session.style, `setting up ${name}`, () =>
    waitFor(
      async () => {
        const tenant = await conn.client.find<Tenant>(ref(name));
        if (!tenant) throw new StopWaiting(new Error(`tenant ${name} was deleted`));
        return tenant.status?.phase === "Ready" ? tenant : undefined;
      },
      { description: `tenant ${name} to be ready`, timeoutMs: options.timeout, intervalMs: 500 },
    ),
  );
  if (options.output === "table") print("ready");
}

export async function editTenant(session: Session, name: string, options: TenantOptions): Promise<void> {
  const spec = tenantSpecOf(options);
  if (Object.keys(spec).length === 0)
    throw new UsageError("say what to change, e.g. --memory 16Gi or --clusters 5");
  const conn = await session.kube();
  let updated: Tenant;
  try {
    updated = await conn.client.patch<Tenant>(ref(name), { spec }, "merge");
  } catch (error) {
    throw refused(conn.server, `tenant ${name} was not changed`, error);
  }
  if (options.output !== "table") print(serialize(withoutManagedFields(updated), options.output));
  else print(`Tenant ${name} changed`);
}

export async function addUser(
  session: Session,
  name: string,
  user: string,
  options: AddUserOptions,
): Promise<void> {
  const conn = await session.kube();
  const tenant = await getTenant(conn.client, conn.server, name);
  const role = options.admin ? "administrators" : "members";
  const subjects: TenantSubjects = { ...tenant.spec[role] };
  const key = options.group ? "groups" : "users";
  if (subjects[key]?.includes(user)) {
    print(`${user} is already one of tenant ${name}'s ${role}`);
    return;
  }
  subjects[key] = [...(subjects[key] ?? []), user];
  try {
    // The resourceVersion makes a concurrent change of the list a conflict, not a lost update.
    await conn.client.patch(
      ref(name),
      { metadata: { resourceVersion: tenant.metadata.resourceVersion }, spec: { [role]: subjects } },
      "merge",
    );
  } catch (error) {
    throw refused(conn.server, `tenant ${name} was not changed`, error);
  }
  print(`${options.group ? "group " : ""}${user} added to tenant ${name}'s ${role}`);
}

export async function deleteTenant(
  session: Session,
  name: string,
  options: DeleteTenantOptions,
): Promise<void> {
  const conn = await session.kube();
  try {
    if (!(await conn.client.delete(ref(name)))) throw new Error(`tenant ${name} not found`);
  } catch (error) {
    throw refused(conn.server, `tenant ${name} was not deleted`, error);
  }
  print(`Tenant ${name} deleted; its namespace ${tenantNamespace(name)} goes with it`);
  if (!options.wait) return;
  await Spinner.run(session.style, `waiting for namespace ${tenantNamespace(name)} to go`, () =>
    waitFor(
      async () =>
        !(await conn.client.find({ apiVersion: "v1", kind: "Namespace", name: tenantNamespace(name) })),
      {
        description: `namespace ${tenantNamespace(name)} to be deleted`,
        timeoutMs: options.timeout,
        intervalMs: 1000,
      },
    ),
  );
}

/** `used/quota` of one quota, or the usage alone where the quota sets no limit. */
function usageOf(tenant: Tenant, name: (typeof QUOTA_NAMES)[number]): string {
  const used = tenant.status?.usage?.[name] ?? "-";
  const limit = tenant.spec.quota?.[name];
  return limit === undefined ? `${used}` : `${used}/${limit}`;
}

export async function listTenants(session: Session, options: ListTenantsOptions): Promise<void> {
  const conn = await session.kube();
  let tenants: Tenant[];
  try {
    tenants = (await conn.client.list<Tenant>(API_VERSION, "Tenant")).items;
  } catch (error) {
    throw refused(conn.server, "tenants", error);
  }
  tenants.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  if (options.output !== "table") {
    print(serialize(tenants.map(withoutManagedFields), options.output));
    return;
  }
  if (tenants.length === 0) {
    process.stderr.write("no tenants; create one with `tessera tenant create NAME --admin USER`\n");
    return;
  }
  const style = session.style;
  const rows = tenants.map((t) => [
    t.metadata.name!,
    t.spec.displayName ?? "",
    style.state(
      t.status?.phase ?? "Pending",
      t.status?.phase === "Ready" ? "good" : t.status?.phase === "Failed" ? "bad" : "pending",
    ),
    ...QUOTA_NAMES.map((q) => usageOf(t, q)),
    age(t.metadata.creationTimestamp),
  ]);
  print(table(style, ["name", "display name", "status", ...QUOTA_NAMES, "age"], rows));
}

const subjectsText = (subjects: TenantSubjects | undefined) =>
  [...(subjects?.users ?? []), ...(subjects?.groups ?? []).map((g) => `group ${g}`)].join(", ") || "-";

export async function describeTenant(
  session: Session,
  name: string,
  options: ListTenantsOptions,
): Promise<void> {
  const conn = await session.kube();
  const tenant = await getTenant(conn.client, conn.server, name);
  if (options.output !== "table") {
    print(serialize(withoutManagedFields(tenant), options.output));
    return;
  }
  const style = session.style;
  print(
    fields(style, [
      ["Name", name],
      ["Display name", tenant.spec.displayName ?? "-"],
      ["Status", tenant.status?.phase ?? "Pending"],
      ["Namespaces", (tenant.status?.namespaces ?? [tenantNamespace(name)]).join(", ")],
      ["Administrators", subjectsText(tenant.spec.administrators)],
      ["Members", subjectsText(tenant.spec.members)],
      ["Addons", tenant.spec.allowedAddons?.join(", ") ?? "all"],
      ["Network isolation", tenant.spec.networkIsolation === false ? "off" : "on"],
      ["Backup repo", tenant.spec.defaultBackupRepo ?? "-"],
      ["Pod exec", tenant.spec.access?.podExec ?? "Administrators"],
      ["Deletion policy", tenant.spec.deletionPolicy ?? "Refuse"],
      ["Age", age(tenant.metadata.creationTimestamp)],
    ]),
  );
  print("");
  print(
    table(
      style,
      ["quota", "used", "limit"],
      QUOTA_NAMES.map((q) => [
        q,
        String(tenant.status?.usage?.[q] ?? "-"),
        String(tenant.spec.quota?.[q] ?? "none"),
      ]),
    ),
  );
  const conditions = tenant.status?.conditions ?? [];
  if (conditions.length) {
    print("");
    print(
      table(
        style,
        ["condition", "status", "reason", "message"],
        conditions.map((c) => [c.type, c.status, c.reason, c.message]),
      ),
    );
  }
}
