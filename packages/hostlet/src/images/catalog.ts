import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export interface CatalogEntry {
  images: string[];
  package: string;
  requires?: string[];
  path?: string[];
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  /** Host directories the software lives in, bound read-only into its containers (e.g. a checkout under /tmp). */
  bind?: string[];
}

export type ImageResolution =
  | { ok: true; image: string; entry: CatalogEntry }
  | { ok: false; image: string; reason: "ErrImagePull"; message: string };

/** The catalog shipped with the hostlet. */
export const BUILTIN_CATALOG = fileURLToPath(new URL("../../images.yaml", import.meta.url));

export function loadCatalogFile(path: string): CatalogEntry[] {
  const doc = parse(readFileSync(path, "utf8")) as { images?: CatalogEntry[] } | null;
  const entries = doc?.images ?? [];
  for (const entry of entries) {
    if (!Array.isArray(entry.images) || typeof entry.package !== "string") {
      throw new Error(`${path}: every entry needs "images" (a list of patterns) and "package"`);
    }
  }
  // Relative paths name software shipped next to the catalog (the checkout's own tools).
  const here = dirname(path);
  return entries.map((entry) => ({
    ...entry,
    ...(entry.requires ? { requires: entry.requires.map((p) => resolve(here, p)) } : {}),
    ...(entry.path ? { path: entry.path.map((p) => resolve(here, p)) } : {}),
    ...(entry.bind ? { bind: entry.bind.map((p) => resolve(here, p)) } : {}),
  }));
}

/** `docker.io/library/redis:7` → `redis:7`; `quay.io/coreos/etcd` → `coreos/etcd:latest`. */
export function normalizeImage(reference: string): string {
  let ref = reference.trim().split("@")[0]!;
  const slash = ref.indexOf("/");
  if (slash > 0) {
    const first = ref.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost") ref = ref.slice(slash + 1);
  }
  if (ref.startsWith("library/")) ref = ref.slice("library/".length);
  const lastSegment = ref.slice(ref.lastIndexOf("/") + 1);
  if (!lastSegment.includes(":")) ref += ":latest";
  return ref;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`);
}

/** Maps image references to host software; the first matching entry wins. */
export class ImageCatalog {
  private readonly compiled: { entry: CatalogEntry; patterns: RegExp[] }[];

  constructor(
    entries: CatalogEntry[],
    private readonly fileExists: (path: string) => boolean = existsSync,
  ) {
    this.compiled = entries.map((entry) => ({ entry, patterns: entry.images.map(globToRegExp) }));
  }

  static load(extraFiles: string[] = []): ImageCatalog {
    return new ImageCatalog([...extraFiles.flatMap(loadCatalogFile), ...loadCatalogFile(BUILTIN_CATALOG)]);
  }

  resolve(image: string | undefined): ImageResolution {
    if (!image) {
      return { ok: false, image: "", reason: "ErrImagePull", message: "the container has no image" };
    }
    const normalized = normalizeImage(image);
    const found = this.compiled.find(({ patterns }) => patterns.some((p) => p.test(normalized)));
    if (!found) {
      return {
        ok: false,
        image,
        reason: "ErrImagePull",
        message:
          `image "${image}" is not in the hostlet's image catalog: this node runs pods as host ` +
          `processes and only provides images listed in packages/hostlet/images.yaml ` +
          `(add an entry mapping it to a Debian package, or use a listed image)`,
      };
    }
    const absent = (found.entry.requires ?? []).filter((path) => !this.fileExists(path));
    if (absent.length > 0) {
      return {
        ok: false,
        image,
        reason: "ErrImagePull",
        message:
          `image "${image}" needs the Debian package "${found.entry.package}", which is not installed ` +
          `on this host (missing ${absent.join(", ")}): run "apt-get install ${found.entry.package}"`,
      };
    }
    return { ok: true, image, entry: found.entry };
  }
}
