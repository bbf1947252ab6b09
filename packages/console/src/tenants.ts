import { API_VERSION, QUOTA_NAMES, type Tenant, type TenantQuota, type TenantUsage } from "@tessera/api";
import type { KubeClient } from "@tessera/kube";
import { body, FormError, optionalInteger, optionalText, text } from "./forms.js";

export interface TenantSummary {
  name: string;
  displayName?: string;
  phase: string;
  namespaces: string[];
  administrators: string[];
  quota: TenantQuota;
  usage: TenantUsage;
  /** False once usage went past a quota (objects made outside the webhook). */
  withinQuota?: boolean;
  message?: string;
}

function summarize(tenant: Tenant): TenantSummary {
  const within = tenant.status?.conditions?.find((c) => c.type === "WithinQuota");
  const ready = tenant.status?.conditions?.find((c) => c.type === "Ready");
  const admins = tenant.spec.administrators;
  return {
    name: tenant.metadata.name!,
    displayName: tenant.spec.displayName,
    phase: tenant.status?.phase ?? "Pending",
    namespaces: tenant.status?.namespaces ?? [],
    administrators: [...(admins?.users ?? []), ...(admins?.groups ?? []).map((g) => `group ${g}`)],
    quota: tenant.spec.quota ?? {},
    usage: tenant.status?.usage ?? {},
    withinQuota: within ? within.status === "True" : undefined,
    message: ready?.status === "False" ? ready.message : undefined,
  };
}

export async function listTenants(client: KubeClient): Promise<TenantSummary[]> {
  const list = await client.listAll<Tenant>(API_VERSION, "Tenant");
  return list.items.map(summarize).sort((a, b) => a.name.localeCompare(b.name));
}

const COUNTS = new Set(["clusters", "instances"]);

/**
 * The quota as the form sent it: quantities as text, counts as integers;
 * an empty value is no limit, which a merge patch says with null.
 */
export function quotaFromForm(input: unknown): Record<string, string | number | null> {
  const form = input === undefined || input === null ? {} : body(input);
  return Object.fromEntries(
    QUOTA_NAMES.map((q) => {
      const field = `spec.quota.${q}`;
      const value = COUNTS.has(q) ? optionalInteger(form, q, field) : optionalText(form, q, field);
      return [q, value ?? null];
    }),
  );
}

const withoutNulls = (quota: Record<string, string | number | null>) =>
  Object.fromEntries(Object.entries(quota).filter(([, v]) => v !== null)) as TenantQuota;

/** A Tenant from the form: name, display name, administrators (user names) and quota. */
export function tenantFromForm(input: unknown): Tenant {
  const form = body(input);
  const displayName = optionalText(form, "displayName", "spec.displayName");
  const admins = form.administrators ?? [];
  if (!Array.isArray(admins) || admins.some((a) => typeof a !== "string"))
    throw new FormError("spec.administrators.users", "a list of user names");
  const users = (admins as string[]).map((a) => a.trim()).filter(Boolean);
  return {
    apiVersion: API_VERSION,
    kind: "Tenant",
    metadata: { name: text(form, "name", "metadata.name") },
    spec: {
      ...(displayName ? { displayName } : {}),
      ...(users.length > 0 ? { administrators: { users } } : {}),
      quota: withoutNulls(quotaFromForm(form.quota)),
    },
  } as Tenant;
}
