import { test } from "node:test";
import assert from "node:assert/strict";
import type { Cluster } from "@tessera/api";
import { backupsView, renderBackups } from "../../src/cluster/backups-section.js";
import { Style } from "../../src/style.js";

const NOW = Date.parse("2026-03-04T12:00:00Z");

function cluster(spec: Partial<Cluster["spec"]>, status?: Cluster["status"]): Cluster {
  return {
    apiVersion: "tessera.dev/v1alpha1",
    kind: "Cluster",
    metadata: { name: "pg", namespace: "prod" },
    spec: { terminationPolicy: "Delete", componentSpecs: [{ name: "postgresql", replicas: 3 }], ...spec },
    ...(status ? { status } : {}),
  };
}

test("a cluster without backup settings, backups or a restore source has no Backups section", () => {
  assert.equal(backupsView(cluster({})), undefined);
});

test("the Backups section: repository, schedule and retention, last and next backups, range, log archiving", () => {
  const view = backupsView(
    cluster(
      {
        backup: { repo: "local", schedule: "0 3 * * *", retention: { maxAge: "7d" }, pointInTime: true },
        restore: { backup: "old-1", pointInTime: "2026-03-01T00:00:00Z" },
      },
      {
        backup: {
          lastBackup: "pg-202603040300",
          lastBackupPhase: "Failed",
          lastCompletedTime: "2026-03-03T03:00:10Z",
          lastScheduleTime: "2026-03-04T03:00:00Z",
          nextScheduleTime: "2026-03-05T03:00:00Z",
          recoverableRange: { from: "2026-02-26T03:00:10Z", to: "2026-03-04T11:59:00Z" },
          logArchive: {
            lastArchived: "000000010000000000000007",
            lastArchivedTime: "2026-03-04T11:59:00Z",
            lastError: "repository unreachable",
          },
        },
      },
    ),
  )!;
  assert.deepEqual(view.retention, { count: 7, maxAge: "7d" }, "the operator's default count");
  assert.equal(
    renderBackups(new Style(false), view, NOW),
    [
      "Backups",
      "Repository:     local, method the addon's default",
      "Schedule:       0 3 * * * (UTC), keeping the newest 7 up to 7d old",
      "Last backup:    pg-202603040300 Failed",
      "Last completed: 32h ago (2026-03-03T03:00:10Z)",
      "Last scheduled: 9h ago (2026-03-04T03:00:00Z)",
      "Next scheduled: in 15h (2026-03-05T03:00:00Z)",
      "Recoverable:    2026-02-26T03:00:10Z → 2026-03-04T11:59:00Z",
      "Log archiving:  on, last archived 000000010000000000000007 60s ago (2026-03-04T11:59:00Z)",
      "Archive error:  repository unreachable",
      "Restored from:  backup old-1, to 2026-03-01T00:00:00Z",
    ].join("\n"),
  );
});

test("on-demand backups only, nothing taken yet", () => {
  const text = renderBackups(new Style(false), backupsView(cluster({ backup: { repo: "s3" } }))!, NOW);
  assert.match(text, /Schedule: +none: backups on demand only/);
  assert.match(text, /Last backup: +none yet/);
  assert.match(text, /Last completed: +never/);
  assert.match(text, /Recoverable: +nothing yet \(no completed backup\)/);
  assert.match(text, /Log archiving: +off \(no point-in-time recovery\)/);
});

test("schedules made by hand for the cluster are listed beside the short form's, with why one does not run", () => {
  const schedule = (name: string, clusterName: string, ready: "True" | "False", reason: string) => ({
    apiVersion: "tessera.dev/v1alpha1",
    kind: "BackupSchedule" as const,
    metadata: { name, namespace: "prod" },
    spec: { policy: `${name}-policy`, schedule: "0 4 * * 0" },
    status: {
      clusterName,
      nextScheduleTime: "2026-03-08T04:00:00Z",
      conditions: [{ type: "Ready", status: ready, reason, message: "", lastTransitionTime: "" }],
    },
  });
  const view = backupsView(cluster({}), [
    schedule("weekly", "pg", "True", "Scheduled"),
    schedule("paused", "pg", "False", "Suspended"),
    schedule("pg", "pg", "True", "Scheduled"),
    schedule("elsewhere", "other", "True", "Scheduled"),
  ])!;
  assert.deepEqual(
    view.otherSchedules?.map((s) => s.name),
    ["paused", "weekly"],
    "the short form's own and other clusters' are left out",
  );
  const text = renderBackups(new Style(false), view, NOW);
  assert.match(
    text,
    /Also scheduled: +paused: 0 4 \* \* 0 \(UTC\), policy paused-policy, not running: Suspended/,
  );
  assert.match(text, /Also scheduled: +weekly: 0 4 \* \* 0 \(UTC\), policy weekly-policy, next in 3d/);
});
