import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { parse } from "yaml";
import { renderCrdFiles, toStructural } from "../../src/crds.js";

const crdDir = fileURLToPath(new URL("../../../../deploy/crds/", import.meta.url));

test("deploy/crds is exactly what the schemas generate (run `npm run generate:crds` after schema changes)", () => {
  const generated = renderCrdFiles();
  assert.deepEqual(readdirSync(crdDir).sort(), [...generated.keys()].sort());
  for (const [name, content] of generated) {
    assert.equal(readFileSync(join(crdDir, name), "utf8"), content, `${name} is stale`);
  }
});

test("every CRD stays far below the 256 KiB client-side apply annotation limit", () => {
  for (const [name, content] of renderCrdFiles()) {
    assert.ok(Buffer.byteLength(content) < 128 * 1024, `${name} is ${Buffer.byteLength(content)} bytes`);
  }
});

test("generated schemas are structural: no unions, no closed objects, preserved embedded pod specs", () => {
  for (const [name, content] of renderCrdFiles()) {
    const text = JSON.stringify(parse(content));
    assert.ok(!/"(anyOf|oneOf|allOf|\$schema)"/.test(text), `${name} has non-structural keywords`);
    assert.ok(!text.includes('"additionalProperties":false'), `${name} closes an object`);
  }
  const componentDefinition = parse(renderCrdFiles().get("componentdefinitions.tessera.dev.yaml")!);
  const runtime =
    componentDefinition.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.runtime;
  assert.equal(runtime["x-kubernetes-preserve-unknown-fields"], true);
});

test("toStructural refuses unions that Kubernetes cannot express", () => {
  assert.throws(() => toStructural({ anyOf: [{ type: "string" }, { type: "object" }] }), /not structural/);
  assert.deepEqual(toStructural({ anyOf: [{ type: "string" }], "x-kubernetes-int-or-string": true }), {
    "x-kubernetes-int-or-string": true,
  });
});
