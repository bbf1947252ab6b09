import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import type { CommandResult } from "@tessera/base";
import type { KubernetesObject } from "@tessera/kube";
import { TestCluster } from "@tessera/testing";

// `kubectl apply -k deploy/` with kubectl 1.20 and its built-in kustomize
// (v2.0.3) against a real apiserver: every object renders and is accepted,
// and the operator's ServiceAccount gets exactly the access it needs.

const DEPLOY = fileURLToPath(new URL("../../../../deploy/", import.meta.url));
const OPERATOR = "system:serviceaccount:tessera-system:tessera-operator";

let cluster: TestCluster;

before(async () => {
  cluster = await TestCluster.start();
});

after(async () => {
  await cluster?.stop();
});

function succeeded(result: CommandResult): CommandResult {
  assert.equal(result.code, 0, `exit ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
  return result;
}

const key = (o: KubernetesObject) => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;

test("kubectl kustomize renders every manifest and kubectl apply -k creates every object", async () => {
  const rendered = parseAllDocuments(succeeded(await cluster.kubectl(["kustomize", DEPLOY])).stdout)
    .map((doc) => doc.toJS() as KubernetesObject)
    .filter(Boolean);
  const kinds = new Set(rendered.map((o) => o.kind));
  for (const kind of [
    "Namespace",
    "CustomResourceDefinition",
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "Deployment",
  ])
    assert.ok(kinds.has(kind), `a ${kind} is rendered`);

  succeeded(await cluster.kubectl(["apply", "-k", DEPLOY]));
  for (const object of rendered) {
    const found = await cluster.client.find({
      apiVersion: object.apiVersion!,
      kind: object.kind!,
      namespace: object.metadata?.namespace,
      name: object.metadata!.name!,
    });
    assert.ok(found, `${key(object)} exists`);
  }
  // Applying again changes nothing and is accepted, as an upgrade would be.
  succeeded(await cluster.kubectl(["apply", "-k", DEPLOY]));
});

test("the operator's ServiceAccount may do what the operator does and no more", async () => {
  const can = async (args: string[]) => {
    const result = await cluster.kubectl(["auth", "can-i", "--as", OPERATOR, ...args]);
    return result.stdout.trim() === "yes";
  };
  const allowed: string[][] = [
    ["update", "clusters.tessera.dev", "-n", "db"],
    ["patch", "components.tessera.dev", "-n", "db"],
    ["create", "pods", "-n", "db"],
    ["create", "pods/exec", "-n", "db"],
    ["delete", "persistentvolumeclaims", "-n", "db"],
    ["patch", "persistentvolumeclaims", "-n", "db"],
    ["update", "secrets/tessera-webhook-tls", "-n", "tessera-system"],
    ["update", "leases/tessera-operator", "-n", "tessera-system"],
    ["patch", "validatingwebhookconfigurations/tessera-validating-webhook"],
    ["patch", "mutatingwebhookconfigurations/tessera-mutating-webhook"],
    ["delete", "rolebindings", "-n", "db"],
    ["bind", "clusterroles/tessera-tenant-exec"],
  ];
  const refused: string[][] = [
    // The garbage collector removes what the operator owns.
    ["delete", "components.tessera.dev", "-n", "db"],
    ["delete", "instancesets.tessera.dev", "-n", "db"],
    ["delete", "clusters.tessera.dev", "-n", "db"],
    ["delete", "services", "-n", "db"],
    ["update", "secrets", "-n", "db"],
    ["update", "secrets/tessera-webhook-tls", "-n", "db"],
    ["list", "secrets", "-n", "db"],
    ["update", "leases/other", "-n", "tessera-system"],
    ["patch", "validatingwebhookconfigurations/other"],
    ["patch", "mutatingwebhookconfigurations/other"],
    ["bind", "clusterroles/cluster-admin"],
    ["create", "clusterdefinitions.tessera.dev"],
    ["delete", "nodes"],
  ];
  for (const args of allowed) assert.ok(await can(args), `may ${args.join(" ")}`);
  for (const args of refused) assert.equal(await can(args), false, `may not ${args.join(" ")}`);
});

test("kubectl apply -k deploy/console runs the console with a ServiceAccount that may do nothing itself", async () => {
  const consoleDir = `${DEPLOY}console/`;
  succeeded(await cluster.kubectl(["apply", "-f", `${DEPLOY}namespace.yaml`]));
  const rendered = parseAllDocuments(succeeded(await cluster.kubectl(["kustomize", consoleDir])).stdout)
    .map((doc) => doc.toJS() as KubernetesObject)
    .filter(Boolean);
  assert.deepEqual(rendered.map(key).sort(), [
    "Deployment/tessera-system/tessera-console",
    "Service/tessera-system/tessera-console",
    "ServiceAccount/tessera-system/tessera-console",
  ]);
  succeeded(await cluster.kubectl(["apply", "-k", consoleDir]));
  // Users' own credentials make every request; the console's account has only what every account has.
  const account = "system:serviceaccount:tessera-system:tessera-console";
  for (const args of [
    ["list", "clusters.tessera.dev", "--all-namespaces"],
    ["get", "pods/log", "-n", "db"],
    ["get", "secrets", "-n", "tessera-system"],
    ["impersonate", "users"],
    ["create", "tokenreviews.authentication.k8s.io"],
  ]) {
    const result = await cluster.kubectl(["auth", "can-i", "--as", account, ...args]);
    assert.equal(result.stdout.trim(), "no", `may not ${args.join(" ")}`);
  }
});
