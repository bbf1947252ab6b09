import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";
import { bundleInputsFile, bundleIsFresh } from "./bundle-freshness.js";

/**
 * A Tessera process's entry point with everything it imports, its npm packages too, as one ES
 * module. Node then reads one file instead of resolving and compiling hundreds: a CLI command
 * costs 0.8 s of CPU instead of 4.2 s through tsx, which every probe, failover and test on a
 * loaded node shares the CPU with.
 */
export interface BundleSpec {
  /** The TypeScript entry point. */
  entry: string;
  /** Where the bundle goes; it is rebuilt when missing or older than any of its sources. */
  outfile: string;
}

/** The repository root: where npm installed the packages the bundles take in. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** npm installs write this file: a bundle built before the last install is out of date. */
const INSTALLED = "node_modules/.package-lock.json";
/** esbuild finds its own native binary at run time; it stays a package Node loads. */
const EXTERNAL = ["esbuild"];

/**
 * A source that finds files beside itself (`new URL("../x", import.meta.url)`) still finds them
 * from inside the bundle: its `import.meta.url` becomes its own location in the checkout.
 */
const IMPORT_META_URL = /\bimport\.meta\.url\b/g;
const ownLocations: Plugin = {
  name: "own-locations",
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes("/node_modules/")) return undefined;
      const source = await readFile(args.path, "utf8");
      return {
        contents: source.replace(IMPORT_META_URL, JSON.stringify(pathToFileURL(args.path).href)),
        loader: "ts",
      };
    });
  },
};

/** Builds under way in this process, by bundle path: callers of the same bundle share one. */
const building = new Map<string, Promise<string>>();

/**
 * The path of the bundle, built first when missing or out of date. Processes building the same
 * bundle at once each write their own files and rename them into place.
 */
export function bundle(spec: BundleSpec): Promise<string> {
  if (bundleIsFresh(spec.outfile)) return Promise.resolve(spec.outfile);
  let built = building.get(spec.outfile);
  if (!built) {
    built = build(spec).finally(async () => {
      building.delete(spec.outfile);
      // esbuild's service process would keep this one alive once its work is done.
      if (building.size === 0) await (await import("esbuild")).stop();
    });
    building.set(spec.outfile, built);
  }
  return built;
}

async function build(spec: BundleSpec): Promise<string> {
  // Loaded only to build: a process started from a bundle does not pay for loading esbuild.
  const esbuild = await import("esbuild");
  const partial = `${spec.outfile}.${process.pid}.partial`;
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [spec.entry],
    outfile: partial,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    metafile: true,
    logLevel: "warning",
    external: EXTERNAL,
    // npm packages written as CommonJS call require(), which an ES module lacks. They require only
    // Node's own modules at run time (every npm package is in the bundle), found from anywhere.
    banner: {
      js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire("/");',
    },
    plugins: [ownLocations],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((input) => !input.includes("node_modules/"))
    .map((input) => join(ROOT, input))
    .concat(join(ROOT, INSTALLED));
  const inputsPartial = `${bundleInputsFile(spec.outfile)}.${process.pid}.partial`;
  await writeFile(inputsPartial, JSON.stringify(inputs));
  await rename(inputsPartial, bundleInputsFile(spec.outfile));
  await rename(partial, spec.outfile);
  return spec.outfile;
}
