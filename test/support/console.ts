import type { V1Secret } from "@kubernetes/client-node";
import { waitFor, type KubeClient } from "@tessera/kube";
import type { TestPlatform } from "./platform.js";

/**
 * The token of a new ServiceAccount bound to cluster-admin, as the token controller issues it:
 * what an administrator signs in to the console with.
 */
export async function adminToken(platform: TestPlatform): Promise<string> {
  const namespace = await platform.cluster.createNamespace("console");
  const client = platform.client;
  await client.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { namespace, name: "admin" } });
  await client.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `${namespace}-admin` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", namespace, name: "admin" }],
  });
  return serviceAccountToken(client, namespace, "admin");
}

/** The token of a ServiceAccount, once the token controller has issued its Secret (Kubernetes 1.20). */
export async function serviceAccountToken(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<string> {
  return waitFor(
    async () => {
      const secrets = await client.list<V1Secret>("v1", "Secret", { namespace });
      const secret = secrets.items.find(
        (s) =>
          s.type === "kubernetes.io/service-account-token" &&
          s.metadata?.annotations?.["kubernetes.io/service-account.name"] === name,
      );
      return secret?.data?.token && Buffer.from(secret.data.token, "base64").toString("utf8");
    },
    { description: `the token of ServiceAccount ${namespace}/${name}`, timeoutMs: 30_000 },
  );
}
