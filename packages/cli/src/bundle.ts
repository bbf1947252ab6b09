import { fileURLToPath } from "node:url";
import { bundle } from "@tessera/base";
import { hostletBundle } from "@tessera/hostlet";
import { operatorBundle } from "@tessera/playground";

/** Builds the bundle the `tessera` command runs (see bin/tessera.js) when it is out of date. */
export function cliBundle(): Promise<string> {
  return bundle({
    entry: fileURLToPath(new URL("./main.ts", import.meta.url)),
    outfile: fileURLToPath(new URL("../dist/tessera.mjs", import.meta.url)),
  });
}

/** Every process a checkout starts from a bundle: the CLI, the operator and the hostlet (scripts/setup). */
export async function buildBundles(): Promise<void> {
  await Promise.all([cliBundle(), operatorBundle(), hostletBundle()]);
}
