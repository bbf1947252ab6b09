// Plain JavaScript: the CLI's launcher reads it before anything can load TypeScript.
import { readFileSync, statSync } from "node:fs";

/** The file beside a bundle that lists the files it was built from. */
export function bundleInputsFile(bundle) {
  return `${bundle}.inputs.json`;
}

/** Whether the bundle exists and none of the files it was built from changed since. */
export function bundleIsFresh(bundle) {
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(bundleInputsFile(bundle), "utf8"));
    return inputs.every((input) => statSync(input).mtimeMs <= built);
  } catch {
    return false;
  }
}
