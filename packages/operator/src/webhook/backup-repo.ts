import type { V1Secret } from "@kubernetes/client-node";
import type { z } from "zod";
import { S3_CREDENTIAL_KEYS, backupRepoSpec, fieldPath, type BackupRepo } from "@tessera/api";
import type { KubeClient } from "@tessera/kube";

/** Problems of a BackupRepo spec on its own: schema, the section its kind needs, the endpoint URL. */
export function backupRepoSpecErrors(spec: unknown): string[] {
  const parsed = backupRepoSpec.safeParse(spec);
  if (!parsed.success) {
    return parsed.error.issues.map(
      (issue: z.core.$ZodIssue) => `${fieldPath("spec", issue.path)}: ${issue.message}`,
    );
  }
  const { kind, filesystem, s3 } = parsed.data;
  const errors: string[] = [];
  const other = kind === "s3" ? "filesystem" : "s3";
  if (!parsed.data[kind]) errors.push(`spec.${kind}: required when spec.kind is ${kind}`);
  if (parsed.data[other]) errors.push(`spec.${other}: not allowed when spec.kind is ${kind}; remove it`);
  if (filesystem && !filesystem.path.startsWith("/")) {
    errors.push(`spec.filesystem.path: "${filesystem.path}" is not an absolute path`);
  }
  if (s3) {
    let url: URL | undefined;
    try {
      url = new URL(s3.endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      errors.push(
        `spec.s3.endpoint: "${s3.endpoint}" is not an http or https URL (e.g. https://s3.example.com)`,
      );
    }
  }
  return errors;
}

/** Why a BackupRepo is refused, or undefined: its spec, and the credentials Secret it names. */
export async function backupRepoRefusal(client: KubeClient, repo: BackupRepo): Promise<string | undefined> {
  const errors = backupRepoSpecErrors(repo.spec);
  const ref = repo.spec?.s3?.credentialsSecretRef;
  if (errors.length === 0 && repo.spec.kind === "s3" && ref) {
    const secret = await client.find<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: ref.namespace,
      name: ref.name,
    });
    const where = `spec.s3.credentialsSecretRef: secret ${ref.namespace}/${ref.name}`;
    if (!secret) {
      errors.push(`${where} does not exist; create it with the keys ${S3_CREDENTIAL_KEYS.join(" and ")}`);
    } else {
      const missing = S3_CREDENTIAL_KEYS.filter((key) => !secret.data?.[key] && !secret.stringData?.[key]);
      if (missing.length)
        errors.push(`${where} lacks the key${missing.length > 1 ? "s" : ""} ${missing.join(" and ")}`);
    }
  }
  return errors.length ? errors.join("; ") : undefined;
}
