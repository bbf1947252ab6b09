import type { V1Pod } from "@kubernetes/client-node";
import { labels } from "@tessera/api";
import { ApiError, type KubeClient } from "@tessera/kube";
import { FormError, optionalInteger, optionalText } from "./forms.js";

/** How many lines of a log the page shows unless asked, and at most: a tail, never the whole file. */
export const LOG_LINES = { default: 200, max: 2000 };

/** Lines are cut short too: a tail of long lines is bounded in bytes as well. */
const LOG_BYTES = 1 << 20;

/** The container Kubernetes picks when none is named (`kubectl logs` honours it too). */
const DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container";

export interface InstanceLog {
  instance: string;
  container: string;
  containers: string[];
  tailLines: number;
  text: string;
}

/**
 * The tail of one container's log of one instance of a cluster, read as the
 * user through the pods/log subresource, so RBAC decides who may read it.
 * A pod that is not an instance of the cluster is not found.
 */
export async function instanceLog(
  client: KubeClient,
  namespace: string,
  cluster: string,
  instance: string,
  query: Record<string, unknown>,
): Promise<InstanceLog> {
  const tailLines = optionalInteger(query, "tailLines", "tailLines") ?? LOG_LINES.default;
  if (tailLines < 1 || tailLines > LOG_LINES.max)
    throw new FormError("tailLines", `between 1 and ${LOG_LINES.max}`);
  const pod = await client.find<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace, name: instance });
  if (!pod || pod.metadata?.labels?.[labels.cluster] !== cluster)
    throw new ApiError(404, "NotFound", `${instance} is not an instance of cluster ${namespace}/${cluster}`);
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const container =
    optionalText(query, "container", "container") ??
    pod.metadata.annotations?.[DEFAULT_CONTAINER] ??
    containers[0]!;
  if (!containers.includes(container))
    throw new FormError("container", `${instance} has no container ${container} (${containers.join(", ")})`);
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(instance)}/log`;
  const text = await client.requestText("GET", path, {
    query: { container, tailLines, limitBytes: LOG_BYTES },
  });
  return { instance, container, containers, tailLines, text };
}
