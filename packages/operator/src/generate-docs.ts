// Renders the addon contract reference (packages/operator/src/actions/contract) into docs/addons.md.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderReference, withReference } from "./actions/contract/index.js";

const ADDON_DOCS = fileURLToPath(new URL("../../../docs/addons.md", import.meta.url));

writeFileSync(ADDON_DOCS, withReference(readFileSync(ADDON_DOCS, "utf8"), renderReference()));
console.log(`wrote the addon contract reference to ${ADDON_DOCS}`);
