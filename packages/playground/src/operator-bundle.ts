import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { REPOSITORY_ROOT as ROOT } from "./repository-root.js";

const ENTRY = fileURLToPath(import.meta.resolve("@tessera/operator/main"));
const DIST = join(ROOT, "packages/operator/dist");
/** The operator and the workspace packages it uses, as one ES module; npm packages load as usual. */
const OPERATOR_BUNDLE = join(DIST, "tessera-operator.mjs");
/** The source files the bundle was built from, to tell when it is out of date. */
const INPUTS = `${OPERATOR_BUNDLE}.inputs.json`;

/** Workspace packages export TypeScript, so they go into the bundle; every other package stays outside. */
const npmPackagesExternal: Plugin = {
  name: "npm-packages-external",
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@tessera/") ? undefined : { path: args.path, external: true },
    );
  },
};

async function mtimeMs(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
}

async function upToDate(): Promise<boolean> {
  const built = await mtimeMs(OPERATOR_BUNDLE);
  if (built === undefined) return false;
  let inputs: string[];
  try {
    inputs = JSON.parse(await readFile(INPUTS, "utf8")) as string[];
  } catch {
    return false;
  }
  const times = await Promise.all(inputs.map(mtimeMs));
  return times.every((t) => t !== undefined && t <= built);
}

/**
 * The path of the operator's bundle, built first when missing or older than any of its sources.
 * A process started from it is ready in a fraction of the time `tsx` takes to compile the sources
 * (1.4 s of CPU against 4.1 s), which is time a restarted operator's clusters wait for failover.
 * Concurrent callers may both build: each writes its own file and renames it into place.
 */
export async function operatorBundle(): Promise<string> {
  if (await upToDate()) return OPERATOR_BUNDLE;
  const partial = `${OPERATOR_BUNDLE}.${process.pid}.partial`;
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    outfile: partial,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    metafile: true,
    logLevel: "warning",
    plugins: [npmPackagesExternal],
  });
  const inputs = Object.keys(result.metafile.inputs).map((input) => join(ROOT, input));
  await writeFile(`${INPUTS}.${process.pid}.partial`, JSON.stringify(inputs));
  await rename(`${INPUTS}.${process.pid}.partial`, INPUTS);
  await rename(partial, OPERATOR_BUNDLE);
  return OPERATOR_BUNDLE;
}
