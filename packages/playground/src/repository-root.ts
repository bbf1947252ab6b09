import { fileURLToPath } from "node:url";

/** The repository root: where the playground's processes run and `tsx` resolves from. */
export const REPOSITORY_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
