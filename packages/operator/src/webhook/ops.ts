import type { V1StorageClass } from "@kubernetes/client-node";
import { API_VERSION, labels, names, type Cluster, type Component, type OpsRequest } from "@tessera/api";
import type { KubeClient } from "@tessera/kube";
import type { DefinitionCatalog } from "../definitions.js";
import type { ValidationFacts } from "../ops/handler.js";
import { validateOpsRequest } from "../ops/validate.js";

/** The cluster's Components and the StorageClasses, read from the apiserver like the cluster itself. */
async function factsOf(client: KubeClient, cluster: Cluster): Promise<ValidationFacts> {
  const [components, storageClasses] = await Promise.all([
    client.list<Component>(API_VERSION, "Component", {
      namespace: cluster.metadata.namespace,
      labelSelector: `${labels.cluster}=${cluster.metadata.name}`,
    }),
    client.listAll<V1StorageClass>("storage.k8s.io/v1", "StorageClass"),
  ]);
  const byName = new Map(components.items.map((c) => [c.metadata.name, c]));
  return {
    component: (name) => byName.get(names.component(cluster.metadata.name!, name)),
    storageClasses: storageClasses.items,
  };
}

/**
 * Why an OpsRequest create or update is refused, or undefined when it is
 * admitted. A create is checked against the cluster it names, read from the
 * apiserver (an operation written right after its cluster must not be refused
 * for a stale cache); an update only for what may change.
 */
export async function opsRequestRefusal(
  client: KubeClient,
  catalog: DefinitionCatalog,
  namespace: string | undefined,
  op: OpsRequest,
  old: OpsRequest | undefined,
): Promise<string | undefined> {
  if (op.metadata.deletionTimestamp) return undefined;
  const cluster =
    old || !op.spec?.clusterName
      ? undefined
      : await client.find<Cluster>({
          apiVersion: API_VERSION,
          kind: "Cluster",
          namespace,
          name: op.spec.clusterName,
        });
  const errors = validateOpsRequest(
    catalog,
    { ...op, metadata: { ...op.metadata, namespace } },
    cluster,
    old,
    cluster ? await factsOf(client, cluster) : undefined,
  );
  return errors.length ? errors.join("; ") : undefined;
}
