// Writes the CRD manifests generated from the zod schemas into deploy/crds/.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { renderCrdFiles } from "./crds.js";

export const CRD_DIR = fileURLToPath(new URL("../../../deploy/crds/", import.meta.url));

mkdirSync(CRD_DIR, { recursive: true });
const files = renderCrdFiles();
for (const existing of readdirSync(CRD_DIR)) {
  if (!files.has(existing)) rmSync(join(CRD_DIR, existing));
}
for (const [name, content] of files) writeFileSync(join(CRD_DIR, name), content);
console.log(`wrote ${files.size} CRDs to ${CRD_DIR}`);
