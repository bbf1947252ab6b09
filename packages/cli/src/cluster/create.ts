import type { Cluster } from "@tessera/api";
import { ApiError, isAlreadyExists } from "@tessera/kube";
import { AddonCatalog } from "../addons.js";
import { planCluster, type ClusterFlags } from "../cluster-spec.js";
import type { OutputFormat } from "../options.js";
import { print, serialize, withoutManagedFields } from "../output.js";
import type { KubeConnection, Session } from "../session.js";
import { Spinner } from "../spinner.js";
import { waitUntilRunning } from "./common.js";

export interface CreateOptions extends ClusterFlags {
  namespace?: string;
  dryRun?: boolean;
  output: OutputFormat;
  wait?: boolean;
  timeout: number;
}

/** Creates (or with --dry-run, validates on the server) a cluster built from the engine's definitions. */
export async function createCluster(session: Session, engine: string, name: string, options: CreateOptions) {
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const addons = await AddonCatalog.load(conn.client, conn.server);
  const plan = planCluster(addons, engine, name, namespace, options);
  const created = await submit(conn, plan.cluster, options.dryRun ?? false);
  if (options.output !== "table") print(serialize(withoutManagedFields(created), options.output));
  else if (options.dryRun)
    print(`cluster ${namespace}/${name} is valid (dry run, nothing created): ${plan.summary}`);
  else print(`cluster ${namespace}/${name} created: ${plan.summary}`);
  if (options.dryRun) return;
  if (options.wait) {
    await Spinner.run(session.style, `waiting for ${name} to be Running`, (spinner) =>
      waitUntilRunning(conn.client, namespace, name, options.timeout, spinner),
    );
  } else if (options.output === "table") {
    print(`follow it with \`tessera cluster describe ${name} -n ${namespace}\``);
  }
}

/** Creates the cluster, turning the API's answers into one line that says what to do. */
export async function submit(conn: KubeConnection, cluster: Cluster, dryRun: boolean): Promise<Cluster> {
  const { name, namespace } = cluster.metadata;
  try {
    return await conn.client.create(cluster, { dryRun });
  } catch (error) {
    if (isAlreadyExists(error)) {
      throw new Error(
        `cluster "${name}" already exists in namespace ${namespace}; see it with \`tessera cluster describe ${name} -n ${namespace}\``,
      );
    }
    if (
      error instanceof ApiError &&
      error.statusCode === 404 &&
      /namespaces? .*not found/.test(error.message)
    ) {
      throw new Error(
        `namespace "${namespace}" not found; create it with \`kubectl create namespace ${namespace}\``,
      );
    }
    throw error;
  }
}
