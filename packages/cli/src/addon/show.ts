import type { ComponentDefinition } from "@tessera/api";
import { AddonCatalog, type Addon } from "../addons.js";
import { UsageError, quoteList } from "../errors.js";
import type { OutputFormat } from "../options.js";
import { fields, print, serialize, table } from "../output.js";
import type { Session } from "../session.js";
import type { Style } from "../style.js";

export interface ShowOptions {
  output: OutputFormat;
}

/** An addon as `addon list` and `addon describe` present it (and as their JSON/YAML output). */
interface AddonView {
  name: string;
  description: string;
  engines: string[];
  topologies: {
    engine: string;
    name: string;
    default: boolean;
    components: { name: string; compDef: string }[];
  }[];
  components: {
    definition: string;
    serviceKind: string;
    haMode: string;
    replicas?: { min: number; max: number };
    roles: { name: string; writable: boolean; updatePriority: number }[];
    services: { name: string; role?: string; ports: string }[];
    accounts: string[];
    actions: string[];
    versions: string[];
  }[];
  versions: { serviceVersion: string; definitions: string[]; images: Record<string, string> }[];
  connect?: { client: string; service: string; port: string; account?: string };
}

function view(addon: Addon, catalog: AddonCatalog): AddonView {
  const releasesOf = (d: ComponentDefinition) => catalog.catalog.releases(d.metadata.name!);
  return {
    name: addon.name,
    description: addon.description,
    engines: addon.clusterDefinitions.map((d) => d.metadata.name!),
    topologies: addon.clusterDefinitions.flatMap((d) =>
      d.spec.topologies.map((t) => ({
        engine: d.metadata.name!,
        name: t.name,
        default: Boolean(t.default),
        components: t.components.map((c) => ({ name: c.name, compDef: c.compDef })),
      })),
    ),
    components: addon.componentDefinitions.map((d) => ({
      definition: d.metadata.name!,
      serviceKind: d.spec.serviceKind,
      haMode: d.spec.haMode,
      replicas: d.spec.replicasLimit
        ? { min: d.spec.replicasLimit.minReplicas, max: d.spec.replicasLimit.maxReplicas }
        : undefined,
      roles: (d.spec.roles ?? []).map((r) => ({
        name: r.name,
        writable: Boolean(r.writable),
        updatePriority: r.updatePriority,
      })),
      services: (d.spec.services ?? []).map((s) => ({
        name: s.name,
        role: s.roleSelector,
        ports: s.spec.ports.map((p) => `${p.name}:${p.port}`).join(","),
      })),
      accounts: (d.spec.systemAccounts ?? []).map((a) => a.name),
      actions: Object.keys(d.spec.lifecycleActions ?? {}),
      versions: releasesOf(d).map((r) => r.serviceVersion),
    })),
    versions: addon.componentVersions
      .flatMap((v) => v.spec.releases)
      .map((release) => ({
        serviceVersion: release.serviceVersion,
        definitions: addon.componentDefinitions
          .filter((d) => releasesOf(d).some((r) => r.name === release.name))
          .map((d) => d.metadata.name!),
        images: release.images,
      })),
    connect: addon.cli.connect && {
      client: addon.cli.connect.command[0]!,
      service: addon.cli.connect.service,
      port: addon.cli.connect.port,
      account: addon.cli.connect.account,
    },
  };
}

async function loadCatalog(session: Session): Promise<AddonCatalog> {
  const conn = await session.kube();
  return AddonCatalog.load(conn.client, conn.server);
}

export async function listAddons(session: Session, options: ShowOptions): Promise<void> {
  const catalog = await loadCatalog(session);
  const views = catalog.addons().map((addon) => view(addon, catalog));
  if (options.output !== "table") {
    print(serialize(views, options.output));
    return;
  }
  if (views.length === 0) {
    process.stderr.write("no addons installed; `tessera install` installs the bundled ones\n");
    return;
  }
  const versions = (v: AddonView) => [...new Set(v.versions.map((r) => r.serviceVersion))].join(", ");
  const topologies = (v: AddonView) =>
    v.topologies.map((t) => (t.default ? `${t.name} (default)` : t.name)).join(", ");
  print(
    table(
      session.style,
      ["addon", "engines", "topologies", "versions", "description"],
      views.map((v) => [v.name, v.engines.join(", "), topologies(v), versions(v), v.description]),
    ),
  );
}

export async function describeAddon(session: Session, name: string, options: ShowOptions): Promise<void> {
  const catalog = await loadCatalog(session);
  const addon = catalog.addon(name);
  if (!addon) {
    throw new UsageError(
      `unknown addon "${name}"; installed: ${quoteList(catalog.addons().map((a) => a.name))} (see \`tessera addon list\`)`,
    );
  }
  const addonView = view(addon, catalog);
  print(options.output === "table" ? render(session.style, addonView) : serialize(addonView, options.output));
}

function render(style: Style, v: AddonView): string {
  const heading = (text: string) => style.bold(text);
  const sections = [
    fields(style, [
      ["Addon", v.name],
      ["Description", v.description || "-"],
      ["Engines", v.engines.join(", ")],
      [
        "Connect",
        v.connect
          ? `${v.connect.client} through service ${v.connect.service} (port ${v.connect.port})${v.connect.account ? ` as ${v.connect.account}` : ""}`
          : "-",
      ],
    ]),
    `${heading("Topologies")}\n${table(
      style,
      ["engine", "topology", "default", "components"],
      v.topologies.map((t) => [
        t.engine,
        t.name,
        t.default ? "yes" : "",
        t.components.map((c) => `${c.name} (${c.compDef})`).join(", "),
      ]),
    )}`,
    `${heading("Components")}\n${table(
      style,
      ["definition", "kind", "ha", "replicas", "roles", "services", "versions"],
      v.components.map((c) => [
        c.definition,
        c.serviceKind,
        c.haMode,
        c.replicas ? `${c.replicas.min}..${c.replicas.max}` : "any",
        c.roles.map((r) => (r.writable ? `${r.name} (writable)` : r.name)).join(", ") || "-",
        c.services.map((s) => `${s.name}${s.role ? `→${s.role}` : ""} ${s.ports}`).join(", ") || "-",
        c.versions.join(", "),
      ]),
    )}`,
    ...v.components.map((c) =>
      fields(style, [
        [`Actions of ${c.definition}`, c.actions.join(", ") || "-"],
        [`Accounts of ${c.definition}`, c.accounts.join(", ") || "-"],
      ]),
    ),
    `${heading("Versions")}\n${table(
      style,
      ["version", "definitions", "images"],
      v.versions.map((r) => [
        r.serviceVersion,
        r.definitions.join(", "),
        Object.entries(r.images)
          .map(([container, image]) => `${container}=${image}`)
          .join(", "),
      ]),
    )}`,
  ];
  return sections.join("\n\n");
}
