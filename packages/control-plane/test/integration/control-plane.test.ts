import { test } from "node:test";
import type { V1Service } from "@kubernetes/client-node";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { KubeClient, loadKubeConfig } from "@tessera/kube";
import { freePort, runCommand } from "@tessera/base";
import { ControlPlane } from "../../src/control-plane.js";
import { testRoot } from "@tessera/testing";

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function pidsOf(dir: string): Promise<number[]> {
  const result = await runCommand("pgrep", ["-f", dir]);
  return result.stdout.split("\n").filter(Boolean).map(Number);
}

test("two full control planes run side by side and leave no process behind", async () => {
  const dirs = [0, 1].map(() => mkdtempSync(join(testRoot(), "tessera-cp-")));
  const planes: ControlPlane[] = [];
  try {
    planes.push(
      ...(await Promise.all(
        dirs.map((dir) =>
          ControlPlane.start({ dir, controllerManager: true, scheduler: true, unsafeEtcdNoFsync: true }),
        ),
      )),
    );
    assert.notEqual(planes[0]!.server, planes[1]!.server);
    for (const plane of planes) {
      const client = new KubeClient(loadKubeConfig(plane.adminKubeconfigPath));
      const version = await client.request<{ gitVersion: string }>("GET", "/version");
      assert.equal(version.gitVersion, "v1.20.2");
      // The service range is loopback so the node agent can route ClusterIPs on this host.
      const svc = await client.get<V1Service>({
        apiVersion: "v1",
        kind: "Service",
        namespace: "default",
        name: "kubernetes",
      });
      assert.match(svc.spec?.clusterIP ?? "", /^127\.96\./);
      client.close();
    }
    for (const dir of dirs)
      assert.ok((await pidsOf(dir)).length >= 4, "etcd, apiserver, controller-manager, scheduler");
  } finally {
    await Promise.all(planes.map((p) => p.stop()));
  }
  for (const dir of dirs) {
    assert.deepEqual(await pidsOf(dir), [], `no process of ${dir} survives stop()`);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a restarted control plane keeps its data, certificates and address", async () => {
  const dir = mkdtempSync(join(testRoot(), "tessera-cp-"));
  let plane: ControlPlane | undefined;
  try {
    plane = await ControlPlane.start({ dir });
    const kubeconfig = plane.adminKubeconfigPath;
    const server = plane.server;
    const before = new KubeClient(loadKubeConfig(kubeconfig));
    try {
      await before.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "keep", namespace: "default" },
      });
    } finally {
      before.close();
    }
    await plane.stop();
    plane = await ControlPlane.start({ dir });
    assert.equal(plane.server, server);
    const after = new KubeClient(loadKubeConfig(kubeconfig));
    try {
      assert.ok(
        await after.find({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "keep" }),
      );
    } finally {
      after.close();
    }
  } finally {
    await plane?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an apiserver that cannot start is reported with its own last log lines", async () => {
  const dir = mkdtempSync(join(testRoot(), "tessera-cp-"));
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as { port: number }).port;
  // Pin the apiserver to a port that is already taken.
  writeFileSync(
    join(dir, "ports.json"),
    JSON.stringify({ etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: port }),
  );
  try {
    await assert.rejects(ControlPlane.start({ dir, readyTimeoutMs: 30_000 }), (error: Error) => {
      assert.match(error.message, /kube-apiserver exited \(code \d+\)/);
      assert.match(error.message, /address already in use/);
      return true;
    });
    const leftovers = (await pidsOf(dir)).filter(processAlive);
    assert.deepEqual(leftovers, [], "a failed start stops what it had started");
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
