import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Deployment } from "@kubernetes/client-node";
import { parse, parseAllDocuments } from "yaml";
import { WaitTimeoutError, waitFor, type KubeClient, type KubernetesObject } from "@tessera/kube";
import { findAddons, installAddon, installCrds, loadAddon } from "@tessera/addons";
import { BUNDLED_ADDONS } from "@tessera/addons";
import { tesseraCommand } from "../invocation.js";
import { duration, print } from "../output.js";
import type { Session } from "../session.js";
import { Spinner } from "../spinner.js";

const DEPLOY = fileURLToPath(new URL("../../../../deploy/", import.meta.url));
const FIELD_MANAGER = "tessera-cli";

/**
 * The operator's manifests as `kubectl apply -k deploy/` applies them: the
 * resource files of deploy/kustomization.yaml, relative to deploy/, in the
 * order listed there (namespace, CRDs, RBAC, then the workload).
 */
export function deployResources(): string[] {
  const kustomization = parse(readFileSync(join(DEPLOY, "kustomization.yaml"), "utf8")) as {
    resources: string[];
  };
  return kustomization.resources;
}

export interface InstallOptions {
  image?: string;
  addons: boolean;
  wait: boolean;
  timeout: number;
}

/**
 * The kustomization's manifests but the CRDs (installed first, and waited
 * for, by installCrds), with the operator image replaced when one is given.
 */
function operatorManifests(image?: string): KubernetesObject[] {
  const files = deployResources()
    .filter((path) => !path.startsWith("crds/"))
    .map((path) => join(DEPLOY, path));
  const objects = files.flatMap((file) =>
    parseAllDocuments(readFileSync(file, "utf8")).map((doc) => doc.toJS() as KubernetesObject),
  );
  if (image) {
    for (const deployment of objects.filter(
      (o): o is V1Deployment & KubernetesObject => o.kind === "Deployment",
    ))
      for (const container of deployment.spec!.template.spec!.containers) container.image = image;
  }
  return objects;
}

/**
 * Installs Tessera into the cluster: CRDs, the operator's namespace, RBAC,
 * Service and Deployment, and the bundled addons, all server-side applied
 * (so running it again upgrades in place); then waits for the operator.
 */
export async function install(session: Session, options: InstallOptions): Promise<void> {
  const conn = await session.kube();
  const client = conn.client;
  const style = session.style;
  print(`Installing Tessera on ${conn.server} (kubeconfig from ${conn.source})`);
  await Spinner.run(style, "CRDs", async () => void (await installCrds(client)));
  const manifests = operatorManifests(options.image);
  await Spinner.run(style, "operator: namespace, RBAC, Service, Deployment", async () => {
    for (const object of manifests) await client.apply(object, FIELD_MANAGER);
  });
  const addons = options.addons ? findAddons(BUNDLED_ADDONS).map((dir) => loadAddon(dir)) : [];
  if (addons.length) {
    await Spinner.run(style, `addons: ${addons.map((a) => a.manifest.name).join(", ")}`, async () => {
      for (const addon of addons) await installAddon(client, addon);
    });
  }
  const deployment = manifests.find((o) => o.kind === "Deployment")!;
  if (options.wait) {
    await Spinner.run(style, "waiting for the operator to be ready", (spinner) =>
      waitForDeployment(client, deployment, options.timeout, spinner),
    );
  }
  const image = (deployment as V1Deployment).spec!.template.spec!.containers[0]!.image;
  print(`Tessera is installed: operator ${image} in namespace ${deployment.metadata!.namespace}.`);
  print(
    `Create a database: ${tesseraCommand()} cluster create <engine> mydb --wait (engines: \`${tesseraCommand()} addon list\`)`,
  );
}

async function waitForDeployment(
  client: KubeClient,
  manifest: KubernetesObject,
  timeoutMs: number,
  spinner: Spinner,
): Promise<void> {
  const ref = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespace: manifest.metadata!.namespace,
    name: manifest.metadata!.name!,
  };
  let last = "no replica ready yet";
  try {
    await waitFor(
      async () => {
        const deployment = await client.get<V1Deployment>(ref);
        const ready = deployment.status?.readyReplicas ?? 0;
        spinner.detail = last = `${ready}/${deployment.spec?.replicas ?? 1} replicas ready`;
        return (
          ready > 0 && (deployment.status?.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0)
        );
      },
      { description: "the operator Deployment", timeoutMs, intervalMs: 2000 },
    );
  } catch (error) {
    if (!(error instanceof WaitTimeoutError)) throw error;
    throw new Error(
      `the operator is not ready after ${duration(timeoutMs)} (${last}); inspect it with \`kubectl -n ${ref.namespace} describe deployment ${ref.name}\``,
    );
  }
}
