import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { API_VERSION, type Backup } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { testRoot } from "@tessera/testing";
import { TestPlatform } from "../../../../test/support/platform.js";
import { KV_ADDON, kvCluster } from "../fixtures/env.js";

// The schedule at the pace people use it: a run every minute, retention 3, watched for over six
// minutes. It takes that long by nature, so it is in the long tier, run on request
// (`scripts/test long`); the every-10-s case in backup.test.ts runs the same code in every run.

const RUNS = 6;

test("a schedule every minute with retention 3 keeps exactly the newest 3 scheduled backups over six minutes", async () => {
  const platform = await TestPlatform.start({ addons: [KV_ADDON] });
  try {
    const ns = await platform.cluster.createNamespace("schedule");
    const repoDir = mkdtempSync(join(testRoot(), "kv-schedule-"));
    await platform.apply(`apiVersion: tessera.dev/v1alpha1
kind: BackupRepo
metadata: { name: kv-minutes }
spec: { kind: filesystem, filesystem: { path: ${repoDir} } }
`);
    await platform.apply(
      kvCluster(ns, "kvm", {
        replicas: 1,
        cpu: "100m",
        extra: `      parameters: { backup_seconds: "0" }\n  backup: { repo: kv-minutes, schedule: "* * * * *", retention: { count: 3 } }\n`,
      }),
    );
    await platform.waitForPhase(ns, "kvm", "Running");
    const seen = new Set<string>();
    const kept: number[] = [];
    await waitFor(
      async () => {
        const list = await platform.client.list<Backup>(API_VERSION, "Backup", { namespace: ns });
        const completed = list.items.filter(
          (b) => b.status?.phase === "Completed" && !b.metadata.deletionTimestamp,
        );
        for (const b of list.items) if (b.status?.phase === "Completed") seen.add(b.metadata.name!);
        kept.push(completed.length);
        return seen.size >= RUNS + 1 && completed.length === 3;
      },
      { description: `${RUNS + 1} scheduled runs`, timeoutMs: (RUNS + 3) * 60_000, intervalMs: 2000 },
    );
    // A run completes a moment before retention removes the oldest: one sample may show four.
    const overs = kept.map((count, i) => count > 3 && (kept[i + 1] ?? 0) > 3).filter(Boolean);
    assert.equal(overs.length, 0, `never more than 3 for longer than a moment: ${kept.join(" ")}`);
    assert.ok(Math.max(...kept) <= 4, `at most one beyond retention at a time: ${kept.join(" ")}`);
    const list = await platform.client.list<Backup>(API_VERSION, "Backup", { namespace: ns });
    for (const b of list.items) if (b.status?.phase === "Completed") seen.add(b.metadata.name!);
    const current = list.items
      .filter((b) => b.status?.phase === "Completed" && !b.metadata.deletionTimestamp)
      .map((b) => b.metadata.name!)
      .sort();
    // Names carry the scheduled time, so sorting them orders the runs.
    assert.deepEqual(current.slice(-3), [...seen].sort().slice(-3), "the newest three are kept");
  } finally {
    await platform.stop();
  }
});
