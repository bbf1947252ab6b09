import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { CRD_DIR } from "@tessera/addons";
import { deployResources } from "../../src/install/install.js";

const DEPLOY = fileURLToPath(new URL("../../../../deploy/", import.meta.url));

/** Manifests under dir; a directory with a kustomization of its own (deploy/monitoring) is applied on its own. */
function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory())
      return existsSync(join(path, "kustomization.yaml")) ? [] : yamlFiles(path);
    return name.endsWith(".yaml") && name !== "kustomization.yaml" ? [relative(DEPLOY, path)] : [];
  });
}

test("deploy/kustomization.yaml lists every manifest under deploy/ once, so apply -k and tessera install agree", () => {
  const listed = deployResources();
  assert.equal(new Set(listed).size, listed.length, "no file listed twice");
  assert.deepEqual([...listed].sort(), yamlFiles(DEPLOY).sort());
  assert.deepEqual(
    listed.filter((f) => f.startsWith("crds/")).sort(),
    readdirSync(CRD_DIR)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => `crds/${f}`)
      .sort(),
    "the CRDs tessera install applies are the ones listed",
  );
  assert.equal(listed[0], "namespace.yaml", "the namespace comes first");
});
