import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { KubeClient, KubernetesObject } from "@tessera/kube";

const MANIFESTS = ["rbac.yaml", "storage-class.yaml"].map((name) =>
  fileURLToPath(new URL(`../manifests/${name}`, import.meta.url)),
);

/** The cluster objects hostlets rely on: their ClusterRole and binding, and the `tessera-local` StorageClass. */
export function hostletManifests(): KubernetesObject[] {
  return MANIFESTS.flatMap((file) =>
    parseAllDocuments(readFileSync(file, "utf8")).map((doc) => doc.toJSON() as KubernetesObject),
  );
}

/** Applies the hostlet's cluster objects (server-side apply, with an admin client). */
export async function installHostletPrerequisites(client: KubeClient): Promise<void> {
  for (const object of hostletManifests()) await client.apply(object, "tessera-hostlet");
}
