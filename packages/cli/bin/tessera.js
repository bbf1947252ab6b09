#!/usr/bin/env node
// The installed `tessera` command. It runs the CLI's bundle (scripts/setup builds it: one file,
// a fifth of the CPU time that loading the TypeScript sources through tsx costs), or, when a
// source changed since it was built, the sources through tsx.
import { fileURLToPath } from "node:url";
import { bundleIsFresh } from "../../base/src/bundle-freshness.js";

if (bundleIsFresh(fileURLToPath(import.meta.resolve("../dist/tessera.mjs")))) {
  await import("../dist/tessera.mjs");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/main.ts");
}
