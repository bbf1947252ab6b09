import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import type { BackupRepo, BackupRepoStatus } from "@tessera/api";
import { POD_CHECK_TIMEOUT_MS, checkPod, checkPodOutcome } from "../../src/backup/check.js";
import { RECHECK_MS, nextCheckAt } from "../../src/backup/repo-controller.js";
import { checkKey } from "../../src/backup/s3-check.js";
import { backupRepoSpecErrors } from "../../src/webhook/backup-repo.js";

function repo(status?: BackupRepoStatus, generation = 2): BackupRepo {
  return {
    apiVersion: "tessera.dev/v1alpha1",
    kind: "BackupRepo",
    metadata: { name: "local", uid: "u1", generation },
    spec: { kind: "filesystem", filesystem: { path: "/srv/backups", nodeName: "node-1" } },
    ...(status ? { status } : {}),
  };
}

test("a check is due at once for a new spec, every few minutes when ready, and with back-off when failing", () => {
  const last = "2026-01-01T00:00:00Z";
  const at = Date.parse(last);
  assert.equal(nextCheckAt(repo()), 0);
  assert.equal(nextCheckAt(repo({ phase: "Ready", observedGeneration: 1, lastCheckTime: last })), 0);
  assert.equal(
    nextCheckAt(repo({ phase: "Ready", observedGeneration: 2, lastCheckTime: last })),
    at + RECHECK_MS,
  );
  const failing = (failedChecks: number) =>
    nextCheckAt(repo({ phase: "Failed", observedGeneration: 2, lastCheckTime: last, failedChecks })) - at;
  assert.deepEqual([1, 2, 3, 4, 5, 10].map(failing), [5_000, 10_000, 20_000, 40_000, 60_000, 60_000]);
});

test("the check pod runs on the repository's node with the directory mounted, owned by the repository", () => {
  const pod = checkPod(repo(), "tessera-system", "token");
  assert.equal(pod.spec?.nodeName, "node-1");
  assert.equal(pod.spec?.restartPolicy, "Never");
  assert.deepEqual(pod.spec?.volumes?.[0]?.hostPath, { path: "/srv/backups", type: "Directory" });
  assert.equal(pod.metadata?.ownerReferences?.[0]?.uid, "u1");
  assert.equal(pod.metadata?.annotations?.["tessera.dev/backup-repo-generation"], "2");
});

test("a check pod's outcome: success, the shell's error, a container that cannot start, a timeout", () => {
  const created = Date.parse("2026-01-01T00:00:00Z");
  const pod = (status: V1Pod["status"]): V1Pod => ({
    metadata: { creationTimestamp: "2026-01-01T00:00:00Z" as unknown as Date },
    spec: { nodeName: "node-1", containers: [] },
    status,
  });
  assert.deepEqual(checkPodOutcome(pod({ phase: "Succeeded" }), created), { ok: true });
  const failed = checkPodOutcome(
    pod({
      phase: "Failed",
      containerStatuses: [
        {
          name: "check",
          image: "busybox",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 2, message: "sh: can't create /repo/x: Permission denied\n" } },
        },
      ],
    }),
    created,
  );
  assert.deepEqual(failed, {
    ok: false,
    reason: "CheckFailed",
    message: "writing to the directory on node node-1 failed: sh: can't create /repo/x: Permission denied",
  });
  const stuck = checkPodOutcome(
    pod({
      phase: "Pending",
      containerStatuses: [
        {
          name: "check",
          image: "busybox",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: "CreateContainerConfigError", message: "hostPath /x does not exist" } },
        },
      ],
    }),
    created,
  );
  assert.match(stuck && !stuck.ok ? stuck.message : "", /cannot start: hostPath \/x does not exist/);
  assert.equal(checkPodOutcome(pod({ phase: "Pending" }), created + 1000), undefined);
  const late = checkPodOutcome(pod({ phase: "Pending" }), created + POD_CHECK_TIMEOUT_MS + 1);
  assert.equal(late && !late.ok ? late.reason : "", "CheckTimedOut");
});

test("the s3 check object lives under the prefix, whatever its slashes", () => {
  assert.equal(checkKey(undefined, "t"), ".tessera-check/t");
  assert.equal(checkKey("/prod/db/", "t"), "prod/db/.tessera-check/t");
});

test("a spec is refused for a kind without its section, both sections, a relative path or a bad endpoint", () => {
  const s3 = { bucket: "b", credentialsSecretRef: { namespace: "ns", name: "keys" } };
  assert.deepEqual(backupRepoSpecErrors({ kind: "filesystem", filesystem: { path: "/srv" } }), []);
  assert.deepEqual(backupRepoSpecErrors({ kind: "s3" }), ["spec.s3: required when spec.kind is s3"]);
  assert.deepEqual(
    backupRepoSpecErrors({
      kind: "filesystem",
      filesystem: { path: "srv" },
      s3: { ...s3, endpoint: "http://x" },
    }),
    [
      "spec.s3: not allowed when spec.kind is filesystem; remove it",
      'spec.filesystem.path: "srv" is not an absolute path',
    ],
  );
  assert.match(
    backupRepoSpecErrors({ kind: "s3", s3: { ...s3, endpoint: "ftp://x" } }).join(),
    /spec.s3.endpoint: "ftp:\/\/x" is not an http or https URL/,
  );
});
