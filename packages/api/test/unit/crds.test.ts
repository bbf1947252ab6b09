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

type Schema = {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: unknown;
};

/** Paths of properties without a description, anywhere in the schema (list items and map values included). */
function undocumented(schema: Schema, path: string): string[] {
  const nested = [
    ...Object.entries(schema.properties ?? {}).flatMap(([name, property]) => [
      ...(property.description?.trim() ? [] : [`${path}.${name}`]),
      ...undocumented(property, `${path}.${name}`),
    ]),
    ...(schema.items ? undocumented(schema.items, `${path}[]`) : []),
    ...(typeof schema.additionalProperties === "object"
      ? undocumented(schema.additionalProperties as Schema, `${path}{}`)
      : []),
  ];
  return nested;
}

test("every field of every CRD has a description for kubectl explain", () => {
  for (const [name, content] of renderCrdFiles()) {
    const root = parse(content).spec.versions[0].schema.openAPIV3Schema as Schema;
    assert.ok(root.description, `${name} has no description of the kind itself`);
    // The apiserver refuses a description of metadata and documents it as ObjectMeta itself.
    const { metadata, ...documented } = root.properties!;
    assert.deepEqual(metadata, { type: "object" });
    assert.deepEqual(undocumented({ properties: documented }, ""), [], `${name} has undocumented fields`);
  }
});

test("Component and InstanceSet have a scale subresource on their replicas", () => {
  for (const file of ["components.tessera.dev.yaml", "instancesets.tessera.dev.yaml"]) {
    const version = parse(renderCrdFiles().get(file)!).spec.versions[0];
    assert.deepEqual(version.subresources.scale, {
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.replicas",
      labelSelectorPath: ".status.selector",
    });
    const schema = version.schema.openAPIV3Schema;
    assert.equal(schema.properties.status.properties.selector.type, "string", `${file}: status.selector`);
    assert.equal(schema.properties.status.properties.replicas.type, "integer", `${file}: status.replicas`);
  }
});

test("toStructural refuses unions that Kubernetes cannot express", () => {
  assert.throws(() => toStructural({ anyOf: [{ type: "string" }, { type: "object" }] }), /not structural/);
  assert.deepEqual(toStructural({ anyOf: [{ type: "string" }], "x-kubernetes-int-or-string": true }), {
    "x-kubernetes-int-or-string": true,
  });
});
