import { test } from "node:test";
import assert from "node:assert/strict";
import { component as componentSchema, componentDefinition, scrapeAnnotations } from "@tessera/api";
import { buildInstanceSet } from "../../src/component/workload.js";

/** A definition whose metrics come from a sidecar, or from the database container itself. */
function definition(exporter: "sidecar" | "db") {
  return componentDefinition.parse({
    apiVersion: "tessera.dev/v1alpha1",
    kind: "ComponentDefinition",
    metadata: { name: "db-1" },
    spec: {
      serviceKind: "db",
      runtime: {
        containers: [
          { name: "db", image: "db:1", ports: [{ name: "metrics", containerPort: 7000 }] },
          { name: "exporter", image: "exporter:1", ports: [{ name: "metrics", containerPort: 9100 }] },
        ],
      },
      exporter: { containerName: exporter === "db" ? "db" : "exporter", scrapePort: "metrics" },
    },
  });
}

function instanceSet(exporter: "sidecar" | "db", disableExporter: boolean) {
  const component = componentSchema.parse({
    apiVersion: "tessera.dev/v1alpha1",
    kind: "Component",
    metadata: { name: "c-db", namespace: "ns" },
    spec: { compDef: "db-1", replicas: 1, disableExporter },
  });
  const set = buildInstanceSet({
    component,
    compDef: definition(exporter),
    release: { name: "1", serviceVersion: "1", images: {} },
    cluster: "c",
    shortName: "db",
    plainVars: {},
    secretEnv: [],
    configTemplates: {},
    restartingConfigs: {},
  });
  const template = set.spec.template as {
    metadata: { annotations: Record<string, string> };
    spec: { containers: { name: string }[] };
  };
  return {
    containers: template.spec.containers.map((c) => c.name),
    port: template.metadata.annotations[scrapeAnnotations.port],
  };
}

test("disableExporter leaves out an exporter sidecar and its scrape annotations", () => {
  assert.deepEqual(instanceSet("sidecar", false), { containers: ["db", "exporter"], port: "9100" });
  assert.deepEqual(instanceSet("sidecar", true), { containers: ["db"], port: undefined });
});

test("disableExporter keeps a database container that serves its own metrics, unannotated", () => {
  assert.deepEqual(instanceSet("db", false), { containers: ["db", "exporter"], port: "7000" });
  assert.deepEqual(instanceSet("db", true), { containers: ["db", "exporter"], port: undefined });
});
