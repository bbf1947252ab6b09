import { API_VERSION, type Cluster, type OpsRequest } from "@tessera/api";
import type { KubeClient } from "@tessera/kube";
import type { DefinitionCatalog } from "../definitions.js";
import { validateOpsRequest } from "../ops/validate.js";

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
  );
  return errors.length ? errors.join("; ") : undefined;
}
