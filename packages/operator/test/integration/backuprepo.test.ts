import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { V1Pod } from "@kubernetes/client-node";
import { API_VERSION, OPERATOR_NAMESPACE, type BackupRepo } from "@tessera/api";
import { freePort, runCommand } from "@tessera/base";
import { waitFor } from "@tessera/kube";
import { S3Server, type S3Credentials } from "@tessera/object-store";
import { testRoot } from "@tessera/testing";
import { TestPlatform } from "../../../../test/support/platform.js";
import { KV_ADDON } from "../fixtures/env.js";

// BackupRepos against real storage: directories on a hostlet node, checked by a pod there, and
// buckets of a real S3-compatible server (Swift), checked by the operator.

const TESSERA = fileURLToPath(new URL("../../../cli/bin/tessera.js", import.meta.url));

let env: TestPlatform;
let s3: S3Server;
let namespace: string;

before(async () => {
  const [platform, server] = await Promise.allSettled([
    TestPlatform.start({ addons: [KV_ADDON] }),
    S3Server.start({ parentDir: testRoot() }),
  ]);
  if (platform.status === "fulfilled") env = platform.value;
  if (server.status === "fulfilled") s3 = server.value;
  if (platform.status === "rejected") throw platform.reason;
  if (server.status === "rejected") throw server.reason;
  namespace = await env.cluster.createNamespace();
});

after(async () => {
  await Promise.all([env?.stop(), s3?.stop()]);
});

async function applyRepo(name: string, spec: string): Promise<void> {
  await env.apply(`apiVersion: tessera.dev/v1alpha1
kind: BackupRepo
metadata: { name: ${name} }
spec:
${spec}`);
}

async function applySecret(name: string, credentials: S3Credentials): Promise<void> {
  await env.apply(`apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${namespace} }
stringData:
  accessKeyId: "${credentials.accessKeyId}"
  secretAccessKey: "${credentials.secretAccessKey}"
`);
}

function s3Spec(bucket: string, secret: string, endpoint = s3.endpoint): string {
  return `  kind: s3
  s3:
    endpoint: ${endpoint}
    bucket: ${bucket}
    prefix: cluster-a/
    region: ${s3.region}
    credentialsSecretRef: { namespace: ${namespace}, name: ${secret} }
`;
}

/** Waits until the repository's last check, for its current spec, ended in `phase`. */
async function waitForRepo(name: string, phase: "Ready" | "Failed", timeoutMs = 60_000): Promise<BackupRepo> {
  return waitFor(
    async () => {
      const repo = await env.client.get<BackupRepo>({ apiVersion: API_VERSION, kind: "BackupRepo", name });
      const current = repo.status?.observedGeneration === repo.metadata.generation;
      return current && repo.status?.phase === phase ? repo : undefined;
    },
    { description: `backup repository ${name} to be ${phase}`, timeoutMs, intervalMs: 250 },
  );
}

function ready(repo: BackupRepo) {
  return repo.status?.conditions?.find((c) => c.type === "Ready");
}

async function checkPods(): Promise<V1Pod[]> {
  const pods = await env.client.list<V1Pod>("v1", "Pod", { namespace: OPERATOR_NAMESPACE });
  return pods.items.filter((p) => p.metadata?.name?.startsWith("tessera-repo-check-"));
}

test("a directory on the node becomes Ready after a check pod there wrote, read and deleted a file", async () => {
  const dir = mkdtempSync(join(testRoot(), "repo-"));
  await applyRepo("local", `  kind: filesystem\n  filesystem: { path: ${dir} }\n`);
  const repo = await waitForRepo("local", "Ready", 90_000);
  assert.equal(repo.status?.checkedNode, env.hostlet.nodeName);
  assert.equal(repo.status?.checkedLocation, dir);
  assert.equal(ready(repo)?.reason, "CheckPassed");
  assert.deepEqual(readdirSync(dir), [], "the check removed its file");
  await waitFor(async () => (await checkPods()).length === 0, {
    description: "the check pod to be deleted",
    timeoutMs: 30_000,
  });
});

test("a path that cannot be written to is Failed with the reason", async () => {
  const file = join(mkdtempSync(join(testRoot(), "repo-")), "not-a-directory");
  writeFileSync(file, "");
  await applyRepo("unwritable", `  kind: filesystem\n  filesystem: { path: ${file} }\n`);
  const repo = await waitForRepo("unwritable", "Failed", 90_000);
  // The shell's own words (busybox and dash say it differently) after where it ran.
  assert.match(
    ready(repo)?.message ?? "",
    /on node .* failed: .*cannot create \/repo\/.*(not a directory|nonexistent)/i,
  );
  assert.equal(ready(repo)?.status, "False");
});

test("a bucket of an S3-compatible server becomes Ready", async () => {
  await s3.createBucket("backups");
  await applySecret("s3-keys", s3.credentials);
  await applyRepo("s3", s3Spec("backups", "s3-keys"));
  const repo = await waitForRepo("s3", "Ready");
  assert.equal(repo.status?.checkedLocation, `s3://backups/cluster-a at ${s3.endpoint}`);
  assert.match(ready(repo)?.message ?? "", /wrote, read and deleted a test object/);
});

test("wrong credentials make the repository Failed, and fixing the Secret makes it Ready", async () => {
  await s3.createBucket("wrong-keys");
  await applySecret("wrong-keys", { ...s3.credentials, secretAccessKey: "not-the-secret" });
  await applyRepo("wrong-keys", s3Spec("wrong-keys", "wrong-keys"));
  const failed = await waitForRepo("wrong-keys", "Failed");
  assert.equal(ready(failed)?.reason, "InvalidCredentials");
  assert.match(ready(failed)?.message ?? "", /refused the credentials/);
  assert.ok(!ready(failed)?.message.includes("not-the-secret"), "the message never shows the secret");
  await applySecret("wrong-keys", s3.credentials);
  await waitForRepo("wrong-keys", "Ready");
});

test("a missing bucket, a user without permission and an unreachable endpoint each say so", async () => {
  await applySecret("reader-keys", s3.readOnlyCredentials);
  await s3.createBucket("read-only");
  await applyRepo("missing-bucket", s3Spec("not-created", "s3-keys"));
  await applyRepo("no-permission", s3Spec("read-only", "reader-keys"));
  await applyRepo("unreachable", s3Spec("backups", "s3-keys", `http://127.0.0.1:${await freePort()}`));
  const missing = await waitForRepo("missing-bucket", "Failed");
  assert.equal(ready(missing)?.reason, "BucketNotFound");
  assert.match(ready(missing)?.message ?? "", /bucket not-created at .* does not exist/);
  const denied = await waitForRepo("no-permission", "Failed");
  assert.equal(ready(denied)?.reason, "PermissionDenied");
  const unreachable = await waitForRepo("unreachable", "Failed");
  assert.equal(ready(unreachable)?.reason, "Unreachable");
  assert.match(ready(unreachable)?.message ?? "", /cannot reach http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);

  // Creating the bucket is enough: the failed check is retried.
  await s3.createBucket("not-created");
  await waitForRepo("missing-bucket", "Ready");
});

test("tessera backuprepo create waits for the check, and list shows where each repository is and why not ready", async () => {
  const cli = (args: string[]) =>
    runCommand(process.execPath, [TESSERA, "--kubeconfig", env.cluster.kubeconfig, ...args], {
      env: { ...process.env, NO_COLOR: "1" },
    });
  const secret = `${namespace}/s3-keys`;
  const created = await cli([
    "backuprepo",
    "create",
    "from-cli",
    ...["--s3-endpoint", s3.endpoint, "--bucket", "backups", "--prefix", "cli", "--region", s3.region],
    ...["--credentials-secret", secret, "--wait"],
  ]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /BackupRepo from-cli created: s3:\/\/backups\/cli at http/);
  assert.match(created.stdout, /ready: wrote, read and deleted a test object/);

  const refused = await cli(["backuprepo", "create", "half", "--s3-endpoint", s3.endpoint, "--bucket", "b"]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /--credentials-secret NAMESPACE\/NAME/);

  const list = await cli(["backuprepo", "list"]);
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.split("\n");
  assert.match(lines[0]!, /NAME\s+KIND\s+WHERE\s+READY\s+AGE\s+MESSAGE/i);
  assert.ok(
    lines.some((l) => /^from-cli\s+s3\s+s3:\/\/backups\/cli at \S+\s+True\b/.test(l)),
    list.stdout,
  );
  assert.ok(
    lines.some((l) => /^unwritable\s+filesystem\s+\S+\s+False\b.*cannot create/.test(l)),
    list.stdout,
  );
});
