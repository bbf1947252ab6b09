import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CgroupLayout } from "../../src/runtime/cgroups.js";

/** A directory tree standing in for /sys/fs/cgroup (plain directories accept the same writes). */
function fakeRoot(kind: "v1" | "v2"): string {
  const root = mkdtempSync(join(tmpdir(), "cgroups-"));
  if (kind === "v1") {
    for (const controller of ["memory", "cpu", "freezer", "pids"]) {
      mkdirSync(join(root, controller));
      writeFileSync(join(root, controller, "tasks"), "");
    }
  } else {
    writeFileSync(join(root, "cgroup.controllers"), "cpu memory pids\n");
  }
  return root;
}

test("cgroup v1: limits go to memory.limit_in_bytes and the CFS quota; freezing uses the freezer", async () => {
  const root = fakeRoot("v1");
  try {
    const layout = CgroupLayout.detect("node-a", root);
    assert.deepEqual(layout.describe(), {
      memory: "cgroup v1",
      cpu: "cgroup v1",
      freeze: "cgroup v1",
      isolation: "none",
    });
    const pod = layout.pod("uid-1");
    pod.create();
    const procs = await pod
      .container("main")
      .create({ memoryBytes: 64 * 2 ** 20, cpuMillis: 250, cpuRequestMillis: 500 });
    assert.ok(procs.includes(join(root, "memory/tessera/node-a/uid-1/main/cgroup.procs")));
    const dir = (c: string) => join(root, c, "tessera/node-a/uid-1/main");
    assert.equal(readFileSync(join(dir("memory"), "memory.limit_in_bytes"), "utf8"), String(64 * 2 ** 20));
    assert.equal(readFileSync(join(dir("cpu"), "cpu.cfs_quota_us"), "utf8"), "25000");
    assert.equal(readFileSync(join(dir("cpu"), "cpu.shares"), "utf8"), "512");
    assert.ok(pod.setFrozen(true));
    assert.equal(readFileSync(join(root, "freezer/tessera/node-a/uid-1/freezer.state"), "utf8"), "FROZEN");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("cgroup v2 alone: controllers are delegated and limits go to memory.max and cpu.max", async () => {
  const root = fakeRoot("v2");
  try {
    const layout = CgroupLayout.detect("node-b", root);
    assert.equal(layout.v2, root);
    assert.deepEqual([...layout.v2Controllers].sort(), ["cpu", "memory"]);
    assert.equal(readFileSync(join(root, "cgroup.subtree_control"), "utf8"), "+cpu +memory");
    const pod = layout.pod("uid-2");
    pod.create();
    assert.equal(pod.v2Path, "tessera/node-b/uid-2");
    await pod.container("main").create({ memoryBytes: 1000, cpuMillis: 1500 });
    const dir = join(root, "tessera/node-b/uid-2/main");
    assert.equal(readFileSync(join(dir, "memory.max"), "utf8"), "1000");
    assert.equal(readFileSync(join(dir, "cpu.max"), "utf8"), "150000 100000");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("cgroup v1: a pod's memory cgroups are emptied before they are removed, its containers' included", async () => {
  const root = fakeRoot("v1");
  try {
    const layout = CgroupLayout.detect("node-c", root);
    const pod = layout.pod("uid-3");
    pod.create();
    await pod.container("main").create({ memoryBytes: 1000 });
    const podDir = join(root, "memory/tessera/node-c/uid-3");
    // The kernel offers force_empty in every memory cgroup below the root.
    for (const dir of [podDir, join(podDir, "main")]) writeFileSync(join(dir, "memory.force_empty"), "");
    await pod.remove();
    for (const dir of [podDir, join(podDir, "main")]) {
      assert.equal(readFileSync(join(dir, "memory.force_empty"), "utf8"), "0", dir);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
