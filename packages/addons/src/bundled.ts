import { fileURLToPath } from "node:url";

/** The addons shipped in this repository. */
export const BUNDLED_ADDONS = fileURLToPath(new URL("../../../addons/", import.meta.url));
