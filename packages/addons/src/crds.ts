import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parse } from "yaml";
import { FIELD_MANAGER } from "@tessera/api";
import { waitFor, type KubeClient } from "@tessera/kube";

export const CRD_DIR = fileURLToPath(new URL("../../../deploy/crds/", import.meta.url));

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/** Applies Tessera's CRDs (server-side, so size never hits the client-side apply limit) and waits until served. */
export async function installCrds(client: KubeClient, dir = CRD_DIR, timeoutMs = 60_000): Promise<string[]> {
  const crds = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => parse(readFileSync(join(dir, f), "utf8")) as Crd);
  for (const crd of crds) await client.apply(crd, FIELD_MANAGER);
  for (const crd of crds) {
    await waitFor(
      async () => {
        const current = await client.get<Crd>({
          apiVersion: crd.apiVersion,
          kind: crd.kind,
          name: crd.metadata.name,
        });
        return current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
      },
      { description: `CRD ${crd.metadata.name} to be established`, timeoutMs },
    );
  }
  return crds.map((c) => c.metadata.name);
}
