import { print } from "../output.js";
import type { Session } from "../session.js";
import { Spinner } from "../spinner.js";
import { clusterRef, findCluster, waitUntilGone } from "./common.js";

export interface DeleteOptions {
  namespace?: string;
  wait?: boolean;
  timeout: number;
}

const WHAT_GOES = {
  DoNotTerminate: "the operator keeps it until the policy changes",
  Delete: "its volumes are deleted with it",
  WipeOut: "its volumes are deleted with it",
} as const;

/** Deletes a cluster as its termination policy says; a DoNotTerminate cluster is refused by the API. */
export async function deleteCluster(session: Session, name: string, options: DeleteOptions): Promise<void> {
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const cluster = await findCluster(conn, namespace, name);
  await conn.client.delete(clusterRef(namespace, name));
  const policy = cluster.spec.terminationPolicy;
  print(`cluster ${namespace}/${name} is being deleted (termination policy ${policy}: ${WHAT_GOES[policy]})`);
  if (options.wait) {
    await Spinner.run(session.style, `waiting for ${name} to be deleted`, (spinner) =>
      waitUntilGone(conn.client, cluster, options.timeout, spinner),
    );
  }
}
