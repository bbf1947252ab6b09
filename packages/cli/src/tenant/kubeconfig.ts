import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { API_VERSION, tenantGroups, type Tenant } from "@tessera/api";
import { writeClientKubeconfig } from "@tessera/control-plane";
import { ApiError, loadCertificateAuthority } from "@tessera/kube";
import { print } from "../output.js";
import type { Session } from "../session.js";

export interface KubeconfigOptions {
  user: string;
  out?: string;
  caDir?: string;
}

/**
 * Where the CA that signs client certificates is: the flag, else the `pki`
 * directory beside the kubeconfig in use (a control plane's layout, the
 * playground's included), else the playground's.
 */
async function caDirectory(kubeconfig: string | undefined, flag: string | undefined): Promise<string> {
  if (flag) return flag;
  const beside = kubeconfig ? join(dirname(kubeconfig), "pki") : undefined;
  if (beside && existsSync(join(beside, "ca.key"))) return beside;
  const { defaultPlaygroundDir } = await import("@tessera/playground/lifecycle");
  return join(defaultPlaygroundDir(), "control-plane", "pki");
}

/**
 * Issues a tenant user's credentials on a cluster whose CA key is at hand
 * (the playground): a client certificate with the user as CN and the tenant's
 * member group as O, in a kubeconfig for the same apiserver. The user's role
 * comes from the Tenant's spec (administrators or members) and the group.
 */
export async function writeTenantKubeconfig(
  session: Session,
  name: string,
  options: KubeconfigOptions,
): Promise<void> {
  const conn = await session.kube();
  try {
    await conn.client.get<Tenant>({ apiVersion: API_VERSION, kind: "Tenant", name });
  } catch (error) {
    if (error instanceof ApiError && error.statusCode === 404) throw new Error(`tenant ${name} not found`);
    throw error;
  }
  const dir = await caDirectory(conn.kubeconfig, options.caDir);
  const [certPath, keyPath] = [join(dir, "ca.crt"), join(dir, "ca.key")];
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    throw new Error(
      `no CA at ${dir} (ca.crt and ca.key): tenant kubeconfigs are issued on the playground, or with --ca-dir; on other clusters give users identities from the cluster's own provider, in the group ${tenantGroups(name).members}`,
    );
  }
  const ca = await loadCertificateAuthority({
    certPem: readFileSync(certPath, "utf8"),
    keyPem: readFileSync(keyPath, "utf8"),
  });
  const path = resolve(options.out ?? `${name}-${options.user}.kubeconfig`);
  await writeClientKubeconfig(path, {
    ca,
    server: conn.server,
    identity: { user: options.user, groups: [tenantGroups(name).members] },
  });
  print(`wrote ${path}: user ${options.user} in group ${tenantGroups(name).members}`);
}
