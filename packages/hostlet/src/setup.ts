import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { V1StorageClass } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { KubeClient, KubernetesObject } from "@tessera/kube";
import { HOSTNAME_LABEL } from "./storage/provisioner.js";

const MANIFESTS = ["rbac.yaml", "storage-class.yaml"].map((name) =>
  fileURLToPath(new URL(`../manifests/${name}`, import.meta.url)),
);

export interface PrerequisiteOptions {
  /**
   * The node of a cluster that has only this one (the playground). Its
   * volumes then bind as soon as they are claimed: waiting for the scheduler
   * to place a pod costs a second and can choose nothing else.
   */
  soleNode?: string;
}

/** The cluster objects hostlets rely on: their ClusterRole and binding, and the `tessera-local` StorageClass. */
export function hostletManifests(options: PrerequisiteOptions = {}): KubernetesObject[] {
  return MANIFESTS.flatMap((file) =>
    parseAllDocuments(readFileSync(file, "utf8")).map((doc) => {
      const object = doc.toJSON() as KubernetesObject;
      return object.kind === "StorageClass" && options.soleNode
        ? pinToNode(object as V1StorageClass, options.soleNode)
        : object;
    }),
  );
}

function pinToNode(storageClass: V1StorageClass, node: string): V1StorageClass {
  return {
    ...storageClass,
    volumeBindingMode: "Immediate",
    allowedTopologies: [{ matchLabelExpressions: [{ key: HOSTNAME_LABEL, values: [node] }] }],
  };
}

/**
 * Applies the hostlet's cluster objects (server-side apply, with an admin
 * client). A StorageClass's binding is immutable, so a class made for
 * another layout is replaced; volumes already provisioned keep their nodes.
 */
export async function installHostletPrerequisites(
  client: KubeClient,
  options: PrerequisiteOptions = {},
): Promise<void> {
  for (const object of hostletManifests(options)) {
    if (object.kind === "StorageClass") await replaceIfRebound(client, object as V1StorageClass);
    await client.apply(object, "tessera-hostlet");
  }
}

async function replaceIfRebound(client: KubeClient, wanted: V1StorageClass): Promise<void> {
  const ref = { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", name: wanted.metadata!.name! };
  const current = await client.find<V1StorageClass>(ref);
  if (!current) return;
  const binding = (c: V1StorageClass) =>
    JSON.stringify([c.volumeBindingMode ?? "Immediate", c.allowedTopologies ?? []]);
  if (binding(current) !== binding(wanted)) await client.delete(ref);
}
