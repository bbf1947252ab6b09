import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { FIELD_MANAGER } from "@tessera/api";
import type { KubeClient, KubernetesObject } from "@tessera/kube";

export const TENANT_ROLES_FILE = fileURLToPath(
  new URL("../../../deploy/rbac/tenant-roles.yaml", import.meta.url),
);

/**
 * Applies the ClusterRoles the Tenant controller binds tenant users to, from
 * the manifest `kubectl apply -k deploy/` installs: where the operator runs
 * without that install (the playground, tests), tenant users get their rights
 * from the same rules.
 */
export async function installTenantRoles(client: KubeClient, file = TENANT_ROLES_FILE): Promise<void> {
  const roles = parseAllDocuments(readFileSync(file, "utf8")).map((doc) => doc.toJS() as KubernetesObject);
  for (const role of roles) await client.apply(role, FIELD_MANAGER);
}
