import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { z } from "zod";
import {
  FIELD_MANAGER,
  fieldPath,
  OPERATOR_NAMESPACE,
  MANAGED_BY,
  clusterDefinition,
  componentDefinition,
  componentVersion,
  labels,
  type ComponentDefinition,
} from "@tessera/api";
import type { KubeClient, KubernetesObject } from "@tessera/kube";

/** Where addon templates are installed unless told otherwise. */
export const DEFAULT_ADDON_NAMESPACE = OPERATOR_NAMESPACE;

export interface AddonManifest {
  name: string;
  description: string;
  /** Engine-specific facts the CLI shows (default port, client command, …). */
  [key: string]: unknown;
}

export interface AddonBundle {
  dir: string;
  manifest: AddonManifest;
  definitions: KubernetesObject[];
  templates: KubernetesObject[];
}

export class AddonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AddonError";
  }
}

const schemas: Record<string, z.ZodType> = {
  ClusterDefinition: clusterDefinition,
  ComponentDefinition: componentDefinition,
  ComponentVersion: componentVersion,
};

function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Each sub-directory of config/ and scripts/ becomes one template ConfigMap named after it. */
function templateConfigMaps(addonDir: string, addon: string, namespace: string): KubernetesObject[] {
  const result: KubernetesObject[] = [];
  for (const kind of ["config", "scripts"]) {
    for (const name of listDir(join(addonDir, kind))) {
      const dir = join(addonDir, kind, name);
      if (!statSync(dir).isDirectory()) continue;
      const data = Object.fromEntries(
        listDir(dir).map((file) => [file, readFileSync(join(dir, file), "utf8")]),
      );
      result.push({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace, labels: { [labels.managedBy]: MANAGED_BY, [labels.addon]: addon } },
        data,
      } as KubernetesObject);
    }
  }
  return result;
}

/**
 * Reads an addon directory (addon.yaml, definitions/*.yaml, config/<name>/,
 * scripts/<name>/) and validates every definition against the API schema,
 * reporting problems as `<file>: <field>: <message>`.
 */
export function loadAddon(dir: string, namespace = DEFAULT_ADDON_NAMESPACE): AddonBundle {
  const manifestFile = join(dir, "addon.yaml");
  if (!existsSync(manifestFile)) throw new AddonError(`${dir}: not an addon (no addon.yaml)`);
  const manifest = parseAllDocuments(readFileSync(manifestFile, "utf8"))[0]?.toJS() as AddonManifest;
  if (!manifest?.name) throw new AddonError(`${manifestFile}: name is required`);
  const definitions: KubernetesObject[] = [];
  const errors: string[] = [];
  for (const file of listDir(join(dir, "definitions")).filter((f) => /\.ya?ml$/.test(f))) {
    const path = join(dir, "definitions", file);
    for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) {
      const object = doc.toJS() as KubernetesObject | null;
      if (!object) continue;
      const schema = schemas[object.kind ?? ""];
      if (!schema) {
        errors.push(`${path}: unexpected kind ${object.kind}`);
        continue;
      }
      const result = schema.safeParse(object);
      if (!result.success) {
        for (const issue of result.error.issues)
          errors.push(`${path}: ${fieldPath("", issue.path).slice(1)}: ${issue.message}`);
        continue;
      }
      if (object.kind === "ComponentDefinition")
        pointTemplatesAt(object as unknown as ComponentDefinition, namespace);
      object.metadata = {
        ...object.metadata,
        labels: { ...object.metadata?.labels, [labels.addon]: manifest.name },
      };
      definitions.push(object);
    }
  }
  if (errors.length) throw new AddonError(errors.join("\n"));
  return { dir, manifest, definitions, templates: templateConfigMaps(dir, manifest.name, namespace) };
}

/** Template references follow the namespace the addon is installed into. */
function pointTemplatesAt(compDef: ComponentDefinition, namespace: string): void {
  for (const ref of [...(compDef.spec.configs ?? []), ...(compDef.spec.scripts ?? [])])
    ref.namespace = namespace;
}

/** Installs (or upgrades) an addon: templates first, then definitions, all server-side applied. */
export async function installAddon(client: KubeClient, bundle: AddonBundle): Promise<void> {
  const namespaces = new Set(bundle.templates.map((t) => t.metadata!.namespace!));
  for (const namespace of namespaces) {
    await client.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } }, FIELD_MANAGER);
  }
  for (const object of [...bundle.templates, ...bundle.definitions])
    await client.apply(object, FIELD_MANAGER);
}

/** Addon directories under a root (each with an addon.yaml). */
export function findAddons(root: string): string[] {
  return listDir(root)
    .map((name) => join(root, name))
    .filter((dir) => existsSync(join(dir, "addon.yaml")));
}
