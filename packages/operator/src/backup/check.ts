import type { V1Pod } from "@kubernetes/client-node";
import { API_VERSION, labels, type BackupRepo } from "@tessera/api";

/** The outcome of one write/read/delete check of a repository. */
export type RepoCheckResult = { ok: true } | { ok: false; reason: string; message: string };

/** Any image with a busybox shell; on the hostlet it maps to the host's busybox. */
export const REPO_CHECK_IMAGE = "busybox:1.36";
/** On a check pod: the repository it checks and that repository's generation. */
export const REPO_ANNOTATION = "tessera.dev/backup-repo";
export const GENERATION_ANNOTATION = "tessera.dev/backup-repo-generation";
/** A check pod that has not finished by then is taken for a failed check (not scheduled, volume not mounted). */
export const POD_CHECK_TIMEOUT_MS = 60_000;
const MOUNT = "/repo";

/**
 * Writes a file named after the pod, reads it back, compares and deletes it; sh's own error
 * (`can't create …: Permission denied`, `Read-only file system`, `Not a directory`) is the last
 * line of the log, which becomes the termination message.
 */
const SCRIPT = `set -e
file="${MOUNT}/.tessera-check-$TESSERA_CHECK_TOKEN"
printf '%s' "$TESSERA_CHECK_TOKEN" >"$file"
if [ "$(cat "$file")" != "$TESSERA_CHECK_TOKEN" ]; then
  echo "$file read back differs from what was written" >&2
  exit 1
fi
rm "$file"
`;

export function checkPodName(repo: string): string {
  return `tessera-repo-check-${repo}`;
}

/**
 * A short-lived pod on the repository's node (any node when it names none) with the directory
 * as a hostPath volume: the check runs where backups will, as the same kind of pod.
 */
export function checkPod(repo: BackupRepo, namespace: string, token: string): V1Pod {
  const fs = repo.spec.filesystem!;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: checkPodName(repo.metadata.name!),
      namespace,
      labels: { [labels.managedBy]: "tessera" },
      annotations: {
        [REPO_ANNOTATION]: repo.metadata.name!,
        [GENERATION_ANNOTATION]: String(repo.metadata.generation ?? 0),
      },
      // Deleting the repository takes its check pod with it.
      ownerReferences: [
        { apiVersion: API_VERSION, kind: "BackupRepo", name: repo.metadata.name!, uid: repo.metadata.uid! },
      ],
    },
    spec: {
      restartPolicy: "Never",
      ...(fs.nodeName ? { nodeName: fs.nodeName } : {}),
      automountServiceAccountToken: false,
      containers: [
        {
          name: "check",
          image: REPO_CHECK_IMAGE,
          command: ["sh", "-c", SCRIPT],
          env: [{ name: "TESSERA_CHECK_TOKEN", value: token }],
          volumeMounts: [{ name: "repo", mountPath: MOUNT }],
          terminationMessagePolicy: "FallbackToLogsOnError",
        },
      ],
      volumes: [{ name: "repo", hostPath: { path: fs.path, type: "Directory" } }],
    },
  };
}

/** Waiting reasons that do not go away by waiting: the check has failed. */
const STUCK_REASONS = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
]);

/** The result of a check pod, or undefined while it may still finish. */
export function checkPodOutcome(pod: V1Pod, now: number): RepoCheckResult | undefined {
  const where = `${pod.spec?.nodeName ? `node ${pod.spec.nodeName}` : "no node"}`;
  if (pod.status?.phase === "Succeeded") return { ok: true };
  const status = pod.status?.containerStatuses?.[0];
  if (pod.status?.phase === "Failed") {
    const terminated = status?.state?.terminated;
    const message = lastLine(terminated?.message) || terminated?.reason || pod.status.message || "failed";
    return {
      ok: false,
      reason: "CheckFailed",
      message: `writing to the directory on ${where} failed: ${message}`,
    };
  }
  const waiting = status?.state?.waiting;
  if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) {
    return {
      ok: false,
      reason: "CheckFailed",
      message: `the check pod on ${where} cannot start: ${waiting.message ?? waiting.reason}`,
    };
  }
  // Objects from the apiserver carry the time as a string, whatever the client's type says.
  const created = new Date(pod.metadata?.creationTimestamp ?? Number.NaN).getTime();
  if (Number.isFinite(created) && now - created > POD_CHECK_TIMEOUT_MS) {
    const unscheduled = pod.status?.conditions?.find(
      (c) => c.type === "PodScheduled" && c.status === "False",
    );
    const why = unscheduled?.message ?? waiting?.message ?? waiting?.reason ?? pod.status?.phase ?? "pending";
    return {
      ok: false,
      reason: "CheckTimedOut",
      message: `the check pod on ${where} did not finish within ${POD_CHECK_TIMEOUT_MS / 1000} s: ${why}`,
    };
  }
  return undefined;
}

function lastLine(text: string | undefined): string {
  return (text ?? "").trim().split("\n").pop()?.trim() ?? "";
}
