import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  API_VERSION,
  renderCrdFiles,
  type Component,
  type ComponentDefinition,
  type InstanceSet,
} from "@tessera/api";
import { installCrds } from "@tessera/addons";
import { createLogger, waitFor } from "@tessera/kube";
import { TestCluster } from "@tessera/testing";
import { parse } from "yaml";
import { AdmissionWebhook } from "../../src/webhook/server.js";
import { catalog } from "../fixtures/definitions.js";

let cluster: TestCluster;

before(async () => {
  cluster = await TestCluster.start();
  await installCrds(cluster.client);
});

after(async () => {
  await cluster?.stop();
});

/**
 * `kubectl explain` output with its line wrapping undone. The apiserver
 * publishes a new CRD's schema shortly after the CRD is established, so the
 * first calls may not know the field yet.
 */
async function explain(field: string): Promise<string> {
  return waitFor(
    async () => {
      const result = await cluster.kubectl(["explain", field]);
      return result.code === 0 ? result.stdout.replace(/\s+/g, " ") : undefined;
    },
    { description: `kubectl explain ${field}`, timeoutMs: 30_000 },
  );
}

/** The first words of a description, which explain prints however it wraps the rest. */
const opening = (description: string) => description.split(/\s+/).slice(0, 6).join(" ");

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

function crdSchema(file: string): SchemaNode {
  return parse(renderCrdFiles().get(file)!).spec.versions[0].schema.openAPIV3Schema;
}

test("kubectl explain prints a field's description from the installed CRD", async () => {
  const componentSpec =
    crdSchema("clusters.tessera.dev.yaml").properties!.spec!.properties!.componentSpecs!.items!;
  const output = await explain("cluster.spec.componentSpecs.replicas");
  assert.match(output, /FIELD: replicas <integer>/);
  assert.match(output, /DESCRIPTION: Number of database instances \(pods, each with its own volumes\)/);
  assert.ok(output.includes(opening(componentSpec.properties!.replicas!.description!)));
});

test("kubectl explain cluster.spec lists every field of the spec with its description", async () => {
  const spec = crdSchema("clusters.tessera.dev.yaml").properties!.spec!;
  const output = await explain("cluster.spec");
  assert.match(output, /DESCRIPTION: The database cluster wanted\./);
  for (const [name, field] of Object.entries(spec.properties!)) {
    assert.ok(output.includes(` ${name} <`), `explain lists ${name}`);
    assert.ok(output.includes(opening(field.description!)), `explain describes ${name}: ${output}`);
  }
});

const podTemplate = {
  metadata: { labels: { app: "scaled" } },
  spec: {
    containers: [
      {
        name: "db",
        image: "registry.example/db:1",
        ports: [{ name: "db", containerPort: 5432 }],
        readinessProbe: { exec: { command: ["true"] }, periodSeconds: 2 },
      },
    ],
    terminationGracePeriodSeconds: 5,
  },
};

test("kubectl scale changes an InstanceSet's replicas through the scale subresource; its pod template is kept whole", async () => {
  const namespace = await cluster.createNamespace();
  await cluster.client.create<InstanceSet>({
    apiVersion: API_VERSION,
    kind: "InstanceSet",
    metadata: { name: "scaled", namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "scaled" } },
      serviceName: "scaled-headless",
      template: podTemplate,
      podManagementPolicy: "Parallel",
      updateStrategy: "Serial",
    },
  });
  const result = await cluster.kubectl(["scale", "instanceset/scaled", "--replicas=3", "-n", namespace]);
  assert.equal(result.code, 0, result.stderr);
  const set = await cluster.client.get<InstanceSet>({
    apiVersion: API_VERSION,
    kind: "InstanceSet",
    namespace,
    name: "scaled",
  });
  assert.equal(set.spec.replicas, 3);
  assert.deepEqual(set.spec.template, podTemplate, "the embedded pod template is not pruned");
});

test("an embedded pod spec in a ComponentDefinition is stored as written", async () => {
  const runtime = {
    containers: [{ name: "db", image: "registry.example/db:1", args: ["-c", "fsync=off"] }],
    hostNetwork: false,
  };
  await cluster.client.create({
    apiVersion: API_VERSION,
    kind: "ComponentDefinition",
    metadata: { name: "db-1" },
    spec: { serviceKind: "db", runtime },
  });
  const stored = await cluster.client.get<ComponentDefinition>({
    apiVersion: API_VERSION,
    kind: "ComponentDefinition",
    name: "db-1",
  });
  assert.deepEqual(stored.spec.runtime, runtime);
});

test("kubectl scale changes a Component's replicas through the scale subresource", async () => {
  const namespace = await cluster.createNamespace();
  await cluster.client.create<Component>({
    apiVersion: API_VERSION,
    kind: "Component",
    metadata: { name: "c1-db", namespace },
    spec: { compDef: "db-1", terminationPolicy: "Delete", replicas: 2 },
  });
  const result = await cluster.kubectl(["scale", "component/c1-db", "--replicas=0", "-n", namespace]);
  assert.equal(result.code, 0, result.stderr);
  const component = await cluster.client.get<Component>({
    apiVersion: API_VERSION,
    kind: "Component",
    namespace,
    name: "c1-db",
  });
  assert.equal(component.spec.replicas, 0);
  assert.equal(component.spec.compDef, "db-1", "only the replicas changed");
});

test("with the webhook, a scale of a Component or InstanceSet that an owner manages is refused, naming what to scale instead", async () => {
  const namespace = await cluster.createNamespace();
  const webhook = new AdmissionWebhook(cluster.client, catalog(), {
    namespace,
    endpoint: { host: "127.0.0.1" },
    port: 0,
    logger: createLogger("webhook-test", "silent"),
  });
  await webhook.start();
  try {
    const owner = (kind: string, name: string) => [
      { apiVersion: API_VERSION, kind, name, uid: `${name}-uid`, controller: true },
    ];
    await cluster.client.create<Component>({
      apiVersion: API_VERSION,
      kind: "Component",
      metadata: { name: "c1-db", namespace, ownerReferences: owner("Cluster", "c1") },
      spec: { compDef: "db-1", terminationPolicy: "Delete", replicas: 2 },
    });
    const set = (name: string, ownerReferences?: ReturnType<typeof owner>): InstanceSet => ({
      apiVersion: API_VERSION,
      kind: "InstanceSet",
      metadata: { name, namespace, ...(ownerReferences ? { ownerReferences } : {}) },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        serviceName: `${name}-headless`,
        template: { metadata: { labels: { app: name } }, spec: podTemplate.spec },
        podManagementPolicy: "Parallel",
        updateStrategy: "Serial",
      },
    });
    await cluster.client.create(set("c1-db", owner("Component", "c1-db")));
    await cluster.client.create(set("solo"));
    const instead = /change spec\.componentSpecs\[\]\.replicas of Cluster c1 instead/;
    const cases: [string, RegExp][] = [
      ["component/c1-db", /Component c1-db is managed by Cluster c1, which sets its replicas/],
      ["instanceset/c1-db", /InstanceSet c1-db is managed by Component c1-db, which sets its replicas/],
    ];
    for (const [object, managed] of cases) {
      const refused = await cluster.kubectl(["scale", object, "--replicas=5", "-n", namespace]);
      assert.notEqual(refused.code, 0, `scaling ${object} must be refused`);
      assert.match(refused.stderr, managed);
      assert.match(refused.stderr, instead);
    }
    for (const kind of ["Component", "InstanceSet"]) {
      const kept = await cluster.client.get<Component | InstanceSet>({
        apiVersion: API_VERSION,
        kind,
        namespace,
        name: "c1-db",
      });
      assert.equal(kept.spec.replicas, 2, `the ${kind} keeps its replicas`);
    }
    const scaled = await cluster.kubectl(["scale", "instanceset/solo", "--replicas=4", "-n", namespace]);
    assert.equal(scaled.code, 0, scaled.stderr);
    const solo = await cluster.client.get<InstanceSet>({
      apiVersion: API_VERSION,
      kind: "InstanceSet",
      namespace,
      name: "solo",
    });
    assert.equal(solo.spec.replicas, 4, "an InstanceSet without an owner scales as asked");
  } finally {
    await webhook.stop();
  }
});
