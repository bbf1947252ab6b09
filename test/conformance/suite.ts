import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { V1PersistentVolumeClaim, V1Pod, V1Service } from "@kubernetes/client-node";
import {
  API_VERSION,
  labels,
  type Backup,
  type Cluster,
  type ClusterComponentSpec,
  type OpsRequest,
  type TerminationPolicy,
} from "@tessera/api";
import { parseQuantity } from "@tessera/base";
import { waitFor } from "@tessera/kube";
import { testRoot } from "@tessera/testing";
import { opsManifest, waitForOps, watchDeletions } from "../support/ops.js";
import { TestPlatform } from "../support/platform.js";
import {
  ClusterHandle,
  Writer,
  diagnostics,
  type EngineClient,
  type EngineDescriptor,
  type Instance,
} from "./harness.js";

const MAIN = "db";
const SCRATCH = "scratch";
const RESTORED = "restored";
const MI = 1 << 20;
const GI = 1 << 30;
/** What turns on the scenarios left out of every CI run to keep it short. */
const FULL_SWITCH = "TESSERA_CONFORMANCE=full";
const FULL = process.env.TESSERA_CONFORMANCE === "full";

/** A Cluster manifest whose spec also says to restore it from a backup (spec is its last top-level key). */
function withRestore(manifest: string, backup: string): string {
  return `${manifest.trimEnd()}\n  restore: { backup: ${backup} }\n`;
}

/**
 * The addon conformance scenarios, in sequence on one cluster of the engine
 * (plus a small second one for WipeOut): create, write/read through the
 * services, role labels against the engine's own view; through OpsRequests
 * a rolling restart under writes (with switchover), scale out and in, a
 * switchover, stop and start, volume expansion under writes, a NodePort
 * Service for the writable role that the host writes and reads through; a
 * backup restored into a new cluster (engines whose addon declares a backup
 * method); killing the writable instance, and deletion under each termination
 * policy. The full set (TESSERA_CONFORMANCE=full) adds vertical scaling and the
 * rebuild of a replica, each under writes.
 */
export function conformance(engine: EngineDescriptor): void {
  let platform: TestPlatform;
  let ns: string;
  let cluster: ClusterHandle;
  let db: EngineClient;
  let replicas = engine.replicas.initial;
  let parameters: Record<string, string> = {};

  const manifest = (policy: TerminationPolicy = "Delete", name = MAIN, count = replicas) =>
    engine.manifest({ name, namespace: ns, replicas: count, terminationPolicy: policy, parameters });

  const instances = () => cluster.instances(engine.component);

  /** Waits until every instance carries the role the engine itself reports, with one writable instance. */
  async function rolesMatchEngine(description: string): Promise<Instance[]> {
    let mismatch = "";
    return waitFor(
      async () => {
        const current = await instances();
        const problems: string[] = [];
        for (const instance of current) {
          const actual = await engine.roleOf(cluster, instance).catch((e: Error) => `unknown (${e.message})`);
          if (instance.role !== actual)
            problems.push(`${instance.name}: label ${instance.role}, engine ${actual}`);
        }
        const writable = current.filter((i) => i.role === engine.writableRole);
        if (writable.length !== 1)
          problems.push(`${writable.length} instances labelled ${engine.writableRole}`);
        mismatch = problems.join("; ");
        return problems.length === 0 ? current : undefined;
      },
      { description: `${description}: role labels to match the engine`, timeoutMs: 60_000 },
    ).catch((error: Error) => {
      error.message = `${error.message}; last mismatch: ${mismatch}`;
      throw error;
    });
  }

  async function membersMatch(count: number): Promise<void> {
    let seen = "";
    await waitFor(
      async () => {
        const current = await instances();
        if (current.length !== count || !current.every((i) => i.ready)) return false;
        const members = (await engine.members(cluster, current)).sort();
        seen = members.join(", ");
        return members.join() === current.map((i) => i.name).join();
      },
      { description: `${count} instances, all members of the ${engine.name} cluster`, timeoutMs: 240_000 },
    ).catch((error: Error) => {
      error.message = `${error.message}; engine members: ${seen}`;
      throw error;
    });
  }

  async function waitRunning(name = MAIN): Promise<void> {
    await platform.waitForPhase(ns, name, "Running", 300_000);
  }

  /** Waits for a writer to acknowledge `more` writes beyond its current count. */
  async function progresses(writer: Writer, more: number, what: string): Promise<void> {
    const target = writer.count + more;
    await waitFor(() => writer.count >= target, {
      description: `${more} acknowledged writes ${what} (last error: ${writer.lastError})`,
      timeoutMs: 90_000,
    });
  }

  let operations = 0;
  /** Runs an OpsRequest on the main cluster and waits until it Succeeds. */
  async function operate(type: string, section = ""): Promise<OpsRequest> {
    const name = `${type.toLowerCase()}-${++operations}`;
    // As automation would: a component briefly Abnormal after the previous scenario (a probe late on a
    // loaded node) holds the operation Pending a while instead of failing it.
    await platform.apply(opsManifest(ns, name, MAIN, type, `${section}  preConditionDeadlineSeconds: 60\n`));
    return waitForOps(platform.client, ns, name, "Succeed", 300_000);
  }

  const scaling = (count: number) =>
    `  horizontalScaling:\n    - { componentName: ${engine.component}, replicas: ${count} }\n`;

  /** A scenario; when it fails, what the cluster looked like is printed with the error. */
  function scenario(name: string, body: () => Promise<void>): void {
    test(name, async () => {
      try {
        await body();
      } catch (error) {
        console.log(
          `--- ${engine.name}: state after "${name}" failed\n${await diagnostics(platform, cluster)}`,
        );
        throw error;
      }
    });
  }

  /** A scenario of the full set only (TESSERA_CONFORMANCE=full): skipped, and said so, otherwise. */
  function full(name: string, body: () => Promise<void>): void {
    if (FULL) scenario(name, body);
    else test(name, { skip: `the full set only (${FULL_SWITCH})` });
  }

  before(async () => {
    platform = await TestPlatform.start({ addons: [engine.addon] });
    ns = await platform.cluster.createNamespace(engine.name);
    cluster = new ClusterHandle(platform.client, ns, MAIN);
  });

  after(async () => {
    await platform?.stop();
  });

  scenario("create: every instance runs and one holds the writable role", async () => {
    await platform.apply(manifest());
    await waitRunning();
    const current = await instances();
    assert.equal(current.length, replicas);
    assert.ok(
      current.every((i) => i.ready),
      "every instance is ready",
    );
    db = await engine.connect(cluster);
  });

  scenario("data: written through the writable service, read through the read service", async () => {
    await db.write("hello/1", "world");
    await waitFor(async () => (await db.read("hello/1")) === "world", {
      description: "the value to be readable through the read service",
      timeoutMs: 30_000,
    });
    assert.deepEqual(await db.keys("hello/"), ["hello/1"]);
  });

  scenario(
    "expose: a NodePort Service for the writable role takes writes and reads from the host; Disable removes it",
    async () => {
      const expose = (body: string) =>
        `  expose:\n    - componentName: ${engine.component}\n      ${body.replace(/\n/g, "\n      ")}\n`;
      await operate(
        "Expose",
        expose(
          `switch: Enable\nservices: [{ name: external, serviceType: NodePort, roleSelector: ${engine.writableRole} }]`,
        ),
      );
      const ref = {
        apiVersion: "v1",
        kind: "Service",
        namespace: ns,
        name: `${cluster.component(engine.component)}-external`,
      };
      const service = await platform.client.get<V1Service>(ref);
      assert.equal(service.spec?.type, "NodePort");
      const nodePort = service.spec?.ports?.find((p) => p.port === engine.port)?.nodePort;
      assert.ok(nodePort, `port ${engine.port} has a node port: ${JSON.stringify(service.spec?.ports)}`);
      // Node ports are reachable on the host; the Service may take a moment to reach the proxy.
      await waitFor(
        async () => {
          const outside = await engine.connect(cluster, { host: "127.0.0.1", port: nodePort });
          await outside.write("exposed/1", "from the host");
          return (await outside.read("exposed/1")) === "from the host";
        },
        { description: `writes and reads through node port ${nodePort}`, timeoutMs: 30_000 },
      );
      assert.equal(await db.read("exposed/1"), "from the host", "the write reached the cluster");

      await operate("Expose", expose("switch: Disable\nservices: [{ name: external }]"));
      assert.equal(await platform.client.find(ref), undefined, "the Service is gone");
    },
  );

  scenario("roles: every role label matches the engine's own view", async () => {
    await rolesMatchEngine("after creation");
  });

  const dynamic = engine.dynamicParameter;
  if (dynamic) {
    scenario("reconfigure: a dynamic parameter reaches every instance without a restart", async () => {
      const before = await instances();
      await operate(
        "Reconfiguring",
        `  reconfiguring:\n    - componentName: ${engine.component}\n      parameters: ${JSON.stringify({ [dynamic.name]: dynamic.value })}\n`,
      );
      parameters = { [dynamic.name]: dynamic.value };
      let seen: string[] = [];
      await waitFor(
        async () => {
          seen = await Promise.all(before.map((i) => dynamic.read(cluster, i)));
          return seen.every((value) => value === dynamic.value);
        },
        { description: `${dynamic.name} = ${dynamic.value} on every instance`, timeoutMs: 60_000 },
      ).catch((error: Error) => {
        error.message = `${error.message}; instances have ${seen.join(", ")}`;
        throw error;
      });
      const after = await instances();
      assert.deepEqual(
        after.map((i) => i.uid),
        before.map((i) => i.uid),
        "no instance was restarted",
      );
    });
  } else {
    test("reconfigure: a dynamic parameter reaches every instance without a restart", {
      skip: `${engine.name} has no dynamic parameters`,
    });
  }

  const custom = engine.customOp;
  if (custom) {
    scenario(`custom operation: ${custom.name} runs on its targets through an OpsRequest`, async () => {
      const op = await operate(
        "Custom",
        `  custom:\n    componentName: ${engine.component}\n    opsName: ${custom.name}\n    parameters: ${JSON.stringify(custom.parameters ?? {})}\n`,
      );
      const targets = op.status?.instances ?? [];
      assert.ok(targets.length > 0, "the operation names the instances it ran on");
      assert.ok(
        targets.every((i) => i.phase === "Succeed"),
        `every target succeeded: ${JSON.stringify(targets)}`,
      );
      assert.equal(await db.read("hello/1"), "world", "the data is untouched");
    });
  }

  const backupMethod = engine.backupMethod;
  if (backupMethod) {
    scenario(
      `backup and restore: a ${backupMethod} backup becomes a new cluster holding the data`,
      async () => {
        await db.write("backup/1", "kept");
        const repo = `${engine.name}-backups`;
        await platform.apply(`apiVersion: ${API_VERSION}
kind: BackupRepo
metadata: { name: ${repo} }
spec: { kind: filesystem, filesystem: { path: ${mkdtempSync(join(testRoot(), "backups-"))} } }
---
apiVersion: ${API_VERSION}
kind: Backup
metadata: { name: round-trip, namespace: ${ns} }
spec: { clusterName: ${MAIN}, repo: ${repo} }
`);
        const backup = await waitFor(
          async () => {
            const found = await platform.client.get<Backup>({
              apiVersion: API_VERSION,
              kind: "Backup",
              namespace: ns,
              name: "round-trip",
            });
            if (found.status?.phase === "Failed")
              throw new Error(`the backup failed: ${found.status.message}`);
            return found.status?.phase === "Completed" ? found : undefined;
          },
          { description: "the backup to complete", timeoutMs: 180_000 },
        );
        const status = backup.status!;
        console.log(
          `${engine.name} backup: ${status.sizeBytes} bytes stored (${status.sourceBytes} from the engine) ` +
            `in ${status.durationSeconds} s from ${status.targetPod}, engine ${status.engineVersion}`,
        );
        assert.equal(status.method, backupMethod);
        assert.ok((status.sizeBytes ?? 0) > 0, "the backup stored data");
        assert.match(status.sha256 ?? "", /^[0-9a-f]{64}$/);
        assert.ok(status.engineVersion, "the backup names the engine version");
        // Taking the backup loads the node (a copy, an upload): the write waits for the cluster to serve
        // again, and a client that timed out connecting on the busy node asks again (the write is idempotent).
        await waitRunning();
        await waitFor(
          async () => {
            await db.write("backup/2", "after the backup");
            return true;
          },
          { description: "the write after the backup", timeoutMs: 60_000 },
        );

        await platform.apply(
          withRestore(manifest("Delete", RESTORED, engine.replicas.initial), "round-trip"),
        );
        const handle = new ClusterHandle(platform.client, ns, RESTORED);
        await waitRunning(RESTORED).catch(async (error: Error) => {
          console.log(`--- ${engine.name}: the restored cluster\n${await diagnostics(platform, handle)}`);
          throw error;
        });
        const restored = await engine.connect(handle);
        await waitFor(async () => (await restored.read("backup/1").catch(() => undefined)) === "kept", {
          description: "the backed-up value to be readable from the restored cluster",
          timeoutMs: 60_000,
        });
        assert.deepEqual(
          await restored.keys("backup/"),
          ["backup/1"],
          "what was written after the backup is not there",
        );
        assert.equal(await restored.read("hello/1"), "world");
        const current = await handle.instances(engine.component);
        assert.deepEqual(
          (await engine.members(handle, current)).sort(),
          current.map((i) => i.name),
          "every instance of the restored cluster is a member of it",
        );
        await platform.client.delete({
          apiVersion: API_VERSION,
          kind: "Cluster",
          namespace: ns,
          name: RESTORED,
        });
        await gone(RESTORED);
      },
    );
  }

  /**
   * Runs an operation that replaces every instance of `scope` (the whole
   * cluster, or one component) under a writer: each is replaced once; with a
   * switchover path the writable one goes last and is never replaced while
   * writable; promised: no acknowledged write is lost.
   */
  async function rollsUnderWrites(what: string, type: string, section = "", scope?: string): Promise<void> {
    const before = await cluster.pods(scope);
    // A busy node may leave the writable instance's label off for a moment (a late probe): as
    // automation would, the operation starts once one instance is labelled writable.
    const writableBefore = await waitFor(
      async () => (await instances()).find((i) => i.role === engine.writableRole),
      { description: `an instance labelled ${engine.writableRole}`, timeoutMs: 60_000 },
    );
    const watch = watchDeletions(platform.client, ns, cluster.component(engine.component));
    const writer = new Writer(db, type.toLowerCase()).start();
    let acknowledged: string[];
    try {
      await progresses(writer, 10, `before the ${what}`);
      await operate(type, section);
      await waitFor(
        async () => {
          const now = new Map((await cluster.pods(scope)).map((p) => [p.metadata!.name!, p]));
          return before.every((old) => {
            const pod = now.get(old.metadata!.name!);
            return pod && pod.metadata!.uid !== old.metadata!.uid;
          });
        },
        { description: `every instance to be replaced by the ${what}`, timeoutMs: 300_000 },
      );
      await waitRunning();
      await progresses(writer, 10, `after the ${what}`);
    } finally {
      await watch.stop();
      acknowledged = await writer.stop();
    }
    const deletions = watch.deletions;
    console.log(
      `${engine.name} ${what}: ${acknowledged.length} writes acknowledged, ${writer.failures} failed`,
    );
    const order = deletions.map((d) => d.pod);
    assert.equal(new Set(order).size, replicas, `each instance replaced once: ${JSON.stringify(deletions)}`);
    assert.equal(order.length, replicas, `no instance replaced twice: ${JSON.stringify(deletions)}`);
    if (engine.guarantees.switchover) {
      assert.equal(order.at(-1), writableBefore.name, "the writable instance is replaced last");
      assert.ok(
        deletions.every((d) => d.role !== engine.writableRole),
        `no instance was replaced while ${engine.writableRole}: ${JSON.stringify(deletions)}`,
      );
    }
    if (engine.guarantees.switchoverKeepsAcknowledgedWrites)
      assert.deepEqual(await writer.lost(acknowledged), [], "acknowledged writes lost");
    await rolesMatchEngine(`after the ${what}`);
  }

  scenario(
    "rolling restart under writes: each instance restarts once, the writable one last after a switchover",
    () => rollsUnderWrites("rolling restart", "Restart"),
  );

  /** The main component's spec as the Cluster has it now. */
  async function mainSpec(): Promise<ClusterComponentSpec> {
    const found = await findCluster(MAIN);
    return found!.spec.componentSpecs.find((c) => c.name === engine.component)!;
  }

  full(
    "vertical scaling under writes: every instance rolls once onto the new resources, the writable one last",
    async () => {
      const resources = (await mainSpec()).resources;
      // Above whatever memory the component has or asks, so the change always rolls and is always valid.
      const floor = Math.max(
        parseQuantity(resources?.limits?.memory ?? 0),
        parseQuantity(resources?.requests?.memory ?? 0),
        448 * MI,
      );
      const memory = `${Math.ceil(floor / MI) + 64}Mi`;
      await rollsUnderWrites(
        "vertical scaling",
        "VerticalScaling",
        `  verticalScaling:\n    - componentName: ${engine.component}\n      resources: { limits: { memory: ${memory} } }\n`,
        engine.component,
      );
      for (const pod of await cluster.pods(engine.component)) {
        const limit = pod.spec!.containers.find((c) => c.name === engine.container)?.resources?.limits
          ?.memory;
        assert.equal(
          parseQuantity(limit),
          parseQuantity(memory),
          `${pod.metadata!.name} runs with ${memory}`,
        );
      }
      assert.equal(parseQuantity((await mainSpec()).resources?.limits?.memory), parseQuantity(memory));
    },
  );

  scenario("scale out and in under writes: the engine's membership follows the instances", async () => {
    let violations = 0;
    let sampling = true;
    // The engine's invariant (e.g. a Raft quorum) is sampled throughout; a
    // failed sample counts only if an immediate second look confirms it.
    const sampler = (async () => {
      const invariant = engine.scalingInvariant;
      while (invariant && sampling) {
        if (!(await invariant.holds(cluster)) && !(await invariant.holds(cluster))) violations++;
        await delay(250);
      }
    })();
    const writer = new Writer(db, "scale").start();
    let acknowledged: string[];
    try {
      await progresses(writer, 10, "before scaling");
      replicas = engine.replicas.scaled;
      await operate("HorizontalScaling", scaling(replicas));
      await membersMatch(replicas);
      await waitRunning();
      await progresses(writer, 10, `with ${replicas} instances`);
      replicas = engine.replicas.initial;
      await operate("HorizontalScaling", scaling(replicas));
      await membersMatch(replicas);
      await waitRunning();
      await progresses(writer, 10, `back at ${replicas} instances`);
    } finally {
      sampling = false;
      await sampler;
      acknowledged = await writer.stop();
    }
    console.log(
      `${engine.name} scaling: ${acknowledged.length} writes acknowledged, ${writer.failures} failed`,
    );
    if (engine.scalingInvariant)
      assert.equal(
        violations,
        0,
        `${engine.scalingInvariant.description} was violated ${violations} time(s)`,
      );
    if (engine.guarantees.switchoverKeepsAcknowledgedWrites)
      assert.deepEqual(await writer.lost(acknowledged), [], "acknowledged writes lost");
    const kept = new Set((await instances()).map((i) => i.name));
    await waitFor(
      async () => {
        return (await claims()).every((c) => kept.has(c.metadata!.labels![labels.podName]!));
      },
      { description: "the volumes of removed instances to be deleted", timeoutMs: 60_000 },
    );
    await rolesMatchEngine("after scaling");
  });

  scenario("volume expansion under writes: every volume grows online, no instance restarts", async () => {
    const template = (await mainSpec()).volumeClaimTemplates![0]!;
    const size = `${Math.ceil(parseQuantity(template.spec.resources.requests.storage) / GI) + 1}Gi`;
    const before = await instances();
    const writer = new Writer(db, "expansion").start();
    let acknowledged: string[];
    try {
      await progresses(writer, 10, "before the expansion");
      await operate(
        "VolumeExpansion",
        `  volumeExpansion:\n    - componentName: ${engine.component}\n      volumeClaimTemplates: [{ name: ${template.name}, storage: ${size} }]\n`,
      );
      await progresses(writer, 10, "after the expansion");
    } finally {
      acknowledged = await writer.stop();
    }
    console.log(
      `${engine.name} volume expansion: ${acknowledged.length} writes acknowledged, ${writer.failures} failed`,
    );
    const grown = (await claims()).filter((c) => c.metadata!.name!.startsWith(`${template.name}-`));
    assert.equal(grown.length, replicas, "one claim per instance");
    for (const claim of grown)
      assert.equal(
        parseQuantity(claim.status?.capacity?.storage),
        parseQuantity(size),
        `${claim.metadata!.name} reports ${size}`,
      );
    assert.deepEqual(
      (await instances()).map((i) => i.uid),
      before.map((i) => i.uid),
      "no instance was restarted",
    );
    // Nothing moved the writable role, whatever the engine promises across a failover.
    assert.deepEqual(await writer.lost(acknowledged), [], "acknowledged writes lost");
    await rolesMatchEngine("after the expansion");
  });

  if (engine.guarantees.switchover) {
    scenario("switchover under writes: the writable role moves to the best replica", async () => {
      const from = (await rolesMatchEngine("before the switchover")).find(
        (i) => i.role === engine.writableRole,
      )!;
      const writer = new Writer(db, "switchover").start();
      let acknowledged: string[];
      let candidate: string | undefined;
      try {
        await progresses(writer, 10, "before the switchover");
        const op = await operate("Switchover", `  switchover:\n    - componentName: ${engine.component}\n`);
        candidate = op.status?.steps?.[0]?.candidate;
        await progresses(writer, 10, "after the switchover");
      } finally {
        acknowledged = await writer.stop();
      }
      console.log(
        `${engine.name} switchover: ${acknowledged.length} writes acknowledged, ${writer.failures} failed`,
      );
      assert.ok(candidate && candidate !== from.name, `a replica was chosen, not ${from.name}`);
      const after = await rolesMatchEngine("after the switchover");
      assert.equal(after.find((i) => i.role === engine.writableRole)?.name, candidate);
      if (engine.guarantees.switchoverKeepsAcknowledgedWrites)
        assert.deepEqual(await writer.lost(acknowledged), [], "acknowledged writes lost");
    });
  }

  full(
    "rebuild instance under writes: a replica gets new volumes under its name and joins the cluster again",
    async () => {
      const target = (await rolesMatchEngine("before the rebuild")).find(
        (i) => i.role !== engine.writableRole,
      )!;
      const claimsOf = async () =>
        new Map(
          (await claims())
            .filter((c) => c.metadata!.labels![labels.podName] === target.name)
            .map((c) => [c.metadata!.name!, c.metadata!.uid!]),
        );
      const before = await claimsOf();
      const writer = new Writer(db, "rebuild").start();
      let acknowledged: string[];
      try {
        await progresses(writer, 10, "before the rebuild");
        await operate(
          "RebuildInstance",
          `  rebuildInstance:\n    - componentName: ${engine.component}\n      instances: [${target.name}]\n`,
        );
        await membersMatch(replicas);
        await waitRunning();
        await progresses(writer, 10, "after the rebuild");
      } finally {
        acknowledged = await writer.stop();
      }
      console.log(
        `${engine.name} rebuild: ${acknowledged.length} writes acknowledged, ${writer.failures} failed`,
      );
      const rebuilt = (await instances()).find((i) => i.name === target.name);
      assert.ok(rebuilt && rebuilt.uid !== target.uid, `${target.name} is a new pod under its name`);
      const after = await claimsOf();
      assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort(), "its claims keep their names");
      for (const [name, uid] of after) assert.notEqual(uid, before.get(name), `${name} is a new claim`);
      // The writable instance was not touched.
      assert.deepEqual(await writer.lost(acknowledged), [], "acknowledged writes lost");
      await rolesMatchEngine("after the rebuild");
      assert.equal(await db.read("hello/1"), "world", "the data is still there");
    },
  );

  scenario(
    "stop and start: the instances go, their volumes stay, and they come back with the data",
    async () => {
      await waitRunning();
      await db.write("stopped/1", "kept");
      const claimUids = async () => (await claims()).map((c) => c.metadata!.uid!).sort();
      const before = await claimUids();
      await operate("Stop");
      assert.deepEqual(await cluster.pods(), [], "no instance runs while stopped");
      assert.deepEqual(await claimUids(), before, "every volume is kept");
      await operate("Start");
      await membersMatch(replicas);
      await waitRunning();
      await rolesMatchEngine("after the start");
      assert.deepEqual(await claimUids(), before, "the instances came back on their volumes");
      await waitFor(async () => (await db.read("stopped/1").catch(() => undefined)) === "kept", {
        description: "data written before the stop to be read back",
        timeoutMs: 60_000,
      });
    },
  );

  scenario(
    "failover: the writable instance is killed, the cluster takes writes again and it rejoins",
    async () => {
      const victim = (await rolesMatchEngine("before the fault")).find(
        (i) => i.role === engine.writableRole,
      )!;
      const writer = new Writer(db, "failover").start();
      let acknowledged: string[];
      try {
        await progresses(writer, 10, "before the fault");
        const faults = await platform.hostlet.faults();
        await faults.killContainer(ns, victim.name, engine.container);
        const killedAt = writer.count;
        const started = Date.now();
        await waitFor(
          async () => {
            const holder = (await instances()).find((i) => i.role === engine.writableRole && i.ready);
            if (!holder) return false;
            if (engine.guarantees.failoverMovesWritableRole && holder.name === victim.name) return false;
            return (await engine.roleOf(cluster, holder)) === engine.writableRole;
          },
          { description: `an instance to hold the ${engine.writableRole} role again`, timeoutMs: 90_000 },
        );
        console.log(`${engine.name} failover: ${engine.writableRole} again after ${Date.now() - started} ms`);
        await waitFor(() => writer.count > killedAt, {
          description: "writes to be acknowledged after the fault",
          timeoutMs: 90_000,
        });
        await progresses(writer, 10, "after the failover");
      } finally {
        acknowledged = await writer.stop();
      }
      console.log(
        `${engine.name} failover: ${acknowledged.length} writes acknowledged, ${writer.failures} failed`,
      );
      await waitRunning();
      const after = await rolesMatchEngine("after the failover");
      // The killed instance is back as a member (e.g. replicating from the new primary).
      await membersMatch(replicas);
      if (engine.guarantees.failoverMovesWritableRole)
        assert.notEqual(after.find((i) => i.role === engine.writableRole)?.name, victim.name);
      const lost = await writer.lost(acknowledged);
      if (engine.guarantees.failoverKeepsAcknowledgedWrites)
        assert.deepEqual(lost, [], "acknowledged writes lost");
      else console.log(`${engine.name} failover: ${lost.length} acknowledged writes lost (not guaranteed)`);
      assert.equal(await db.read("hello/1"), "world", "data written before the fault survives");
    },
  );

  scenario(
    "termination policy DoNotTerminate: deletion is refused and the cluster keeps serving",
    async () => {
      await setPolicy("DoNotTerminate");
      const result = await platform.cluster.kubectl(["delete", "cluster", MAIN, "-n", ns, "--wait=false"]);
      if (result.code !== 0) {
        assert.match(result.stderr, /DoNotTerminate/);
      } else {
        await waitFor(
          async () =>
            (await findCluster(MAIN))?.status?.conditions?.some(
              (c) => c.type === "DeletionBlocked" && c.status === "True",
            ),
          { description: "the deletion to be blocked", timeoutMs: 30_000 },
        );
      }
      assert.ok(await findCluster(MAIN), "the cluster still exists");
      assert.equal((await instances()).length, replicas, "every instance still runs");
      assert.equal(await db.read("hello/1"), "world", "the cluster still serves its data");
    },
  );

  scenario("termination policy Delete: the cluster goes with its pods and volumes", async () => {
    await setPolicy("Delete");
    const result = await platform.cluster.kubectl(["delete", "cluster", MAIN, "-n", ns, "--wait=false"]);
    assert.equal(result.code, 0, result.stderr);
    await gone(MAIN);
  });

  scenario("termination policy WipeOut: the cluster goes with its pods and volumes", async () => {
    await platform.apply(manifest("WipeOut", SCRATCH, 1));
    await waitRunning(SCRATCH);
    const scratch = await engine.connect(new ClusterHandle(platform.client, ns, SCRATCH));
    await scratch.write("hello/1", "world");
    const result = await platform.cluster.kubectl(["delete", "cluster", SCRATCH, "-n", ns, "--wait=false"]);
    assert.equal(result.code, 0, result.stderr);
    await gone(SCRATCH);
  });

  function findCluster(name: string): Promise<Cluster | undefined> {
    return platform.client.find<Cluster>({ apiVersion: API_VERSION, kind: "Cluster", namespace: ns, name });
  }

  /** Sets the main cluster's termination policy alone: the rest of its spec stays as operations left it. */
  async function setPolicy(policy: TerminationPolicy): Promise<void> {
    await platform.client.patch(
      { apiVersion: API_VERSION, kind: "Cluster", namespace: ns, name: MAIN },
      { spec: { terminationPolicy: policy } },
      "merge",
    );
  }

  /** The main component's volume claims. */
  async function claims(): Promise<V1PersistentVolumeClaim[]> {
    const list = await platform.client.list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
      namespace: ns,
      labelSelector: `${labels.component}=${cluster.component(engine.component)}`,
    });
    return list.items;
  }

  /** Waits until the cluster, its pods and its volumes are all gone. */
  async function gone(name: string): Promise<void> {
    const selector = `${labels.cluster}=${name}`;
    let left = "";
    await waitFor(
      async () => {
        const pods = await platform.client.list<V1Pod>("v1", "Pod", {
          namespace: ns,
          labelSelector: selector,
        });
        const claims = await platform.client.list<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
          namespace: ns,
          labelSelector: selector,
        });
        const remaining = [
          ...((await findCluster(name)) ? [`cluster ${name}`] : []),
          ...pods.items.map((p) => `pod ${p.metadata?.name}`),
          ...claims.items.map((c) => `pvc ${c.metadata?.name}`),
        ];
        left = remaining.join(", ");
        return remaining.length === 0;
      },
      { description: `cluster ${name} with its pods and volumes to be deleted`, timeoutMs: 180_000 },
    ).catch((error: Error) => {
      error.message = `${error.message}; left: ${left}`;
      throw error;
    });
  }
}
