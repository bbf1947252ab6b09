import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:tls";
import type { V1Secret } from "@kubernetes/client-node";
import { API_VERSION } from "@tessera/api";
import { certificateInfo, createLogger, errorMessage, splitPemBundle, waitFor } from "@tessera/kube";
import { TestCluster } from "@tessera/testing";
import { DefinitionCatalog } from "../../src/definitions.js";
import { AdmissionWebhook } from "../../src/webhook/server.js";

// The admission webhook against a real apiserver, with lifetimes of seconds so
// that serving certificates and the CA are renewed several times while the
// apiserver keeps calling it.

/** Only the resource the webhook admits; its schema is beside the point here. */
const CLUSTER_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: clusters.tessera.dev }
spec:
  group: tessera.dev
  scope: Namespaced
  names: { kind: Cluster, plural: clusters, singular: cluster, listKind: ClusterList }
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`;

let cluster: TestCluster;
let ns: string;

before(async () => {
  cluster = await TestCluster.start();
  const crd = await cluster.kubectl(["apply", "-f", "-"], { input: CLUSTER_CRD });
  assert.equal(crd.code, 0, crd.stderr);
  await cluster.kubectl(["wait", "--for=condition=Established", "crd/clusters.tessera.dev", "--timeout=30s"]);
  ns = await cluster.createNamespace("webhook");
});

after(async () => {
  await cluster?.stop();
});

/** The certificate the webhook presents to a new connection, by fingerprint. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert.fingerprint256);
    });
    socket.once("error", reject);
  });
}

test("serving certificates and the CA are renewed while the apiserver keeps getting answers", async () => {
  const webhook = new AdmissionWebhook(
    cluster.client,
    new DefinitionCatalog({
      clusterDefinitions: () => [],
      componentDefinitions: () => [],
      componentVersions: () => [],
    }),
    {
      namespace: ns,
      endpoint: { host: "127.0.0.1" },
      port: 0,
      logger: createLogger("webhook-test", "silent"),
      certificates: { caMs: 12_000, servingMs: 3_000, checkIntervalMs: 200 },
    },
  );
  await webhook.start();
  try {
    const served = new Set<string>();
    const signingCas = new Set<string>();
    const unanswered: string[] = [];
    let answered = 0;
    await waitFor(
      async () => {
        // A dry-run create goes through admission: the webhook refuses the unknown
        // definition, which proves the apiserver reached it and trusted its certificate.
        try {
          await cluster.client.create(
            {
              apiVersion: API_VERSION,
              kind: "Cluster",
              metadata: { name: "probe", namespace: ns },
              spec: { clusterDef: "missing", componentSpecs: [{ name: "db", replicas: 1 }] },
            },
            { dryRun: true },
          );
          unanswered.push("the create was admitted");
        } catch (error) {
          if (/denied the request/.test(errorMessage(error))) answered++;
          else unanswered.push(errorMessage(error));
        }
        served.add(await servedFingerprint(webhook.port!));
        const secret = await cluster.client.get<V1Secret>({
          apiVersion: "v1",
          kind: "Secret",
          namespace: ns,
          name: "tessera-webhook-tls",
        });
        const bundle = Buffer.from(secret.data!["ca.crt"]!, "base64").toString("utf8");
        signingCas.add(splitPemBundle(bundle)[0]!);
        return signingCas.size >= 2 && served.size >= 4;
      },
      {
        description: "the webhook to serve renewed certificates of a renewed CA",
        timeoutMs: 60_000,
        intervalMs: 100,
      },
    );
    assert.deepEqual(unanswered, [], "every admission request was answered by the webhook");
    assert.ok(answered > 10, `${answered} requests answered`);
  } finally {
    await webhook.stop();
  }
});

test("a webhook reached under new names gets a certificate for them, from the same CA", async () => {
  const catalog = new DefinitionCatalog({
    clusterDefinitions: () => [],
    componentDefinitions: () => [],
    componentVersions: () => [],
  });
  const stored = async () => {
    const secret = await cluster.client.get<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: ns,
      name: "tessera-webhook-tls",
    });
    const field = (key: string) => Buffer.from(secret.data![key]!, "base64").toString("utf8");
    return { names: certificateInfo(field("tls.crt")).dnsNames, caBundle: field("ca.crt") };
  };
  const serve = async (service: string) => {
    const webhook = new AdmissionWebhook(cluster.client, catalog, {
      namespace: ns,
      endpoint: { service },
      port: 0,
      logger: createLogger("webhook-test", "silent"),
    });
    await webhook.start();
    await webhook.stop();
    return stored();
  };
  const first = await serve("tessera-webhook");
  assert.ok(first.names.includes(`tessera-webhook.${ns}.svc`));
  const renamed = await serve("tessera-admission");
  assert.ok(renamed.names.includes(`tessera-admission.${ns}.svc`), renamed.names.join());
  assert.ok(!renamed.names.includes(`tessera-webhook.${ns}.svc`));
  assert.equal(renamed.caBundle, first.caBundle, "the apiserver's trust is unchanged");
});
