import { API_VERSION, GROUP, TENANT_LABEL, VERSION, type Cluster } from "@tessera/api";
import type { KubeClient } from "@tessera/kube";
import { tenantOf, type TenantAdmission } from "./tenant.js";

/** Where the apiserver sends writes for defaults to be filled in. */
export const DEFAULTS_PATH = "/mutate/defaults";

/** One operation of the JSON Patch a mutating admission response carries. */
export interface PatchOperation {
  op: "add";
  path: string;
  value: unknown;
}

/**
 * The BackupRepo backups in a namespace go to when nothing names one: the
 * `spec.defaultBackupRepo` of the Tenant the namespace belongs to, if any.
 */
export async function defaultBackupRepo(
  client: KubeClient,
  namespace: string | undefined,
): Promise<string | undefined> {
  return (await tenantOf(client, namespace))?.spec.defaultBackupRepo;
}

interface RepoSpecs {
  spec?: {
    repo?: string;
    policy?: string;
    clusterName?: string;
    type?: string;
    backup?: { repo?: string };
  };
}

/**
 * The tenant's default repository, written into a Cluster's `spec.backup`,
 * a Backup or a Backup OpsRequest that names none where nothing else would
 * resolve one (a Backup's policy, its cluster's `spec.backup.repo`). It is
 * written, not looked up when backups run, so everything reading the object
 * sees a named repository and changing the default later does not move an
 * existing cluster's backups. A write the default cannot complete is left
 * to the validating webhook, which refuses it naming the field.
 */
export async function backupRepoDefaults(
  client: KubeClient,
  request: TenantAdmission,
): Promise<PatchOperation[]> {
  if (request.subResource || (request.operation !== "CREATE" && request.operation !== "UPDATE")) return [];
  const object = request.object as (RepoSpecs & { metadata?: { deletionTimestamp?: string } }) | undefined;
  const spec = object?.spec;
  if (!spec || object.metadata?.deletionTimestamp) return [];
  const resource = request.resource?.resource;
  const patch = async (path: string, value: (repo: string) => unknown): Promise<PatchOperation[]> => {
    const repo = await defaultBackupRepo(client, request.namespace);
    return repo ? [{ op: "add", path, value: value(repo) }] : [];
  };
  if (resource === "clusters") {
    return spec.backup && !spec.backup.repo ? patch("/spec/backup/repo", (repo) => repo) : [];
  }
  // What a Backup or a Backup OpsRequest backs up never changes: only a new one gets a default.
  if (request.operation !== "CREATE") return [];
  if (resource === "backups" && !spec.repo && !spec.policy) {
    if (await clusterRepo(client, request.namespace, spec.clusterName)) return [];
    return patch("/spec/repo", (repo) => repo);
  }
  if (resource === "opsrequests" && spec.type === "Backup" && !spec.backup?.repo) {
    if (await clusterRepo(client, request.namespace, spec.clusterName)) return [];
    return spec.backup
      ? patch("/spec/backup/repo", (repo) => repo)
      : patch("/spec/backup", (repo) => ({ repo }));
  }
  return [];
}

async function clusterRepo(
  client: KubeClient,
  namespace: string | undefined,
  name: string | undefined,
): Promise<string | undefined> {
  if (!namespace || !name) return undefined;
  const cluster = await client.find<Cluster>({ apiVersion: API_VERSION, kind: "Cluster", namespace, name });
  return cluster?.spec.backup?.repo;
}

/**
 * The mutating webhook filling defaults, for the writes of tenants'
 * namespaces only (the defaults are theirs). It fails closed like the
 * validating webhook of the same kinds: a write it never saw would miss its
 * default and be refused.
 */
export function defaultsWebhookConfiguration(clientConfig: Record<string, unknown>) {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: "tessera-mutating-webhook" },
    webhooks: [
      {
        name: `defaults.${GROUP}`,
        rules: [
          {
            apiGroups: [GROUP],
            apiVersions: [VERSION],
            operations: ["CREATE", "UPDATE"],
            resources: ["clusters", "backups", "opsrequests"],
            scope: "Namespaced",
          },
        ],
        namespaceSelector: { matchExpressions: [{ key: TENANT_LABEL, operator: "Exists" }] },
        clientConfig,
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        failurePolicy: "Fail",
        reinvocationPolicy: "Never",
        timeoutSeconds: 10,
      },
    ],
  };
}
