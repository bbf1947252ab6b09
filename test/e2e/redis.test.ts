import { after, before, test } from "node:test";
import { waitFor } from "@tessera/kube";
import { TestPlatform } from "../support/platform.js";
import { ClusterHandle, runClient, type Instance } from "../conformance/harness.js";
import { redis } from "../conformance/engines/redis.js";

const CLUSTER = "cache";

let platform: TestPlatform;
let ns: string;
let cluster: ClusterHandle;

function manifest(sentinels: number): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${CLUSTER}, namespace: ${ns} }
spec:
  clusterDef: redis
  topology: replication
  terminationPolicy: Delete
  componentSpecs:
    - name: redis
      replicas: 2
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
    - name: redis-sentinel
      replicas: ${sentinels}
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 100Mi } } }
`;
}

/** `SENTINEL MASTER <cluster>` of one Sentinel as a map (alternating name and value lines). */
async function sentinelView(sentinel: Instance): Promise<Map<string, string>> {
  const { password } = await cluster.account("redis-sentinel", "default");
  const lines = (
    await runClient(
      "redis-cli",
      ["-h", sentinel.ip, "-p", "26379", "--no-auth-warning", "-e", "SENTINEL", "MASTER", CLUSTER],
      { env: { REDISCLI_AUTH: password } },
    )
  ).split("\n");
  const view = new Map<string, string>();
  for (let i = 0; i + 1 < lines.length; i += 2) view.set(lines[i]!, lines[i + 1]!);
  return view;
}

/**
 * Every Sentinel monitors the primary with the majority quorum of the
 * membership and knows exactly the other Sentinels and the one replica.
 */
async function sentinelsAgree(count: number): Promise<void> {
  let last = "";
  await waitFor(
    async () => {
      const sentinels = await cluster.instances("redis-sentinel");
      if (sentinels.length !== count || !sentinels.every((s) => s.ready)) return false;
      const primary = (await cluster.instances("redis")).find((i) => i.role === "primary");
      const views = await Promise.all(sentinels.map(sentinelView));
      last = views
        .map((v) => `${v.get("ip")} quorum=${v.get("quorum")} others=${v.get("num-other-sentinels")}`)
        .join("; ");
      return views.every(
        (v) =>
          v.get("ip")?.startsWith(`${primary?.name}.`) &&
          v.get("quorum") === String(Math.floor(count / 2) + 1) &&
          v.get("num-other-sentinels") === String(count - 1) &&
          v.get("num-slaves") === "1",
      );
    },
    { description: `${count} Sentinels to agree on the primary and on each other`, timeoutMs: 120_000 },
  ).catch((error: Error) => {
    error.message = `${error.message}; Sentinels: ${last}`;
    throw error;
  });
}

before(async () => {
  platform = await TestPlatform.start({ addons: [redis.addon] });
  ns = await platform.cluster.createNamespace("redis");
  cluster = new ClusterHandle(platform.client, ns, CLUSTER);
});

after(async () => {
  await platform?.stop();
});

test("three Sentinels monitor the primary; the exporter reports Redis up with the monitor account", async () => {
  await platform.apply(manifest(3));
  await platform.waitForPhase(ns, CLUSTER, "Running", 240_000);
  await sentinelsAgree(3);
  const primary = (await cluster.instances("redis")).find((i) => i.role === "primary")!;
  await waitFor(
    async () => {
      const response = await fetch(`http://${primary.ip}:9121/metrics`);
      return /^redis_up 1$/m.test(await response.text());
    },
    { description: "redis_exporter to report redis_up 1", timeoutMs: 60_000 },
  );
});

test("Sentinels scale 3 → 5 → 3: joiners monitor the primary, leavers are forgotten, quorum follows", async () => {
  await platform.apply(manifest(5));
  await sentinelsAgree(5);
  await platform.apply(manifest(3));
  await sentinelsAgree(3);
});

test("after the Sentinel scale-in a killed primary is still failed over", async () => {
  const victim = (await cluster.instances("redis")).find((i) => i.role === "primary")!;
  const faults = await platform.hostlet.faults();
  await faults.killContainer(ns, victim.name, "redis");
  await waitFor(
    async () => {
      const holder = (await cluster.instances("redis")).find((i) => i.role === "primary" && i.ready);
      return holder !== undefined && holder.name !== victim.name;
    },
    { description: "another instance to become primary", timeoutMs: 90_000 },
  );
  await platform.waitForPhase(ns, CLUSTER, "Running", 120_000);
  await sentinelsAgree(3);
});
