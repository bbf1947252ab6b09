import { API_VERSION, type Cluster } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { TestPlatform, isInPhase } from "../support/platform.js";
import { ClusterHandle, diagnostics, type Instance } from "../conformance/harness.js";
import type { ChaosBinding, ChaosDescriptor } from "./harness.js";
import type { Fault } from "./faults.js";
import { longestGap, lostWrites, staleAcks, type RoundResult } from "./metrics.js";
import { SplitBrainWatcher, askState } from "./watcher.js";
import { ChaosWriter } from "./writer.js";

const NAME = "chaos";
/** Acknowledged writes that show the writer is steady, before the fault and after convergence. */
const STEADY_WRITES = 20;
const CONVERGENCE_TIMEOUT_MS = 180_000;

/**
 * One engine's replicated cluster on a throwaway platform, for chaos
 * rounds: each round runs a writer and a split-brain watcher, injects one
 * fault, waits for the cluster to converge and measures what the clients
 * saw.
 */
export class ChaosCluster {
  /** Rounds run so far; each writes its own stream. */
  private rounds = 0;

  private constructor(
    readonly platform: TestPlatform,
    readonly cluster: ClusterHandle,
    readonly descriptor: ChaosDescriptor,
    private readonly binding: ChaosBinding,
  ) {}

  /** `parameters`: engine parameters of the component, e.g. to measure another replication mode. */
  static async start(
    descriptor: ChaosDescriptor,
    parameters: Record<string, string> = {},
  ): Promise<ChaosCluster> {
    const engine = descriptor.engine;
    const platform = await TestPlatform.start({ addons: [engine.addon] });
    try {
      const namespace = await platform.cluster.createNamespace(`chaos-${engine.name}`);
      await platform.apply(
        engine.manifest({
          name: NAME,
          namespace,
          replicas: engine.replicas.initial,
          terminationPolicy: "Delete",
          parameters,
        }),
      );
      await platform.waitForPhase(namespace, NAME, "Running", 300_000);
      const cluster = new ClusterHandle(platform.client, namespace, NAME);
      return new ChaosCluster(platform, cluster, descriptor, await descriptor.bind(cluster));
    } catch (error) {
      await platform.stop();
      throw error;
    }
  }

  private get engine() {
    return this.descriptor.engine;
  }

  private instances(): Promise<Instance[]> {
    return this.cluster.instances(this.engine.component);
  }

  /**
   * Waits until the cluster converged and returns its writable instance:
   * the Cluster Running, every instance ready with a role label, exactly
   * one labelled writable and exactly that one claiming to be, every
   * instance a member in the engine's own view, all on the writable
   * instance's history.
   */
  async converged(): Promise<Instance> {
    let problems: string[] = [];
    return waitFor(
      async () => {
        const found = await this.convergence();
        problems = found.problems;
        return problems.length === 0 ? found.writable : undefined;
      },
      { description: "the cluster to converge", timeoutMs: CONVERGENCE_TIMEOUT_MS, intervalMs: 500 },
    ).catch((error: Error) => {
      error.message = `${error.message}; still: ${problems.join("; ")}`;
      throw error;
    });
  }

  private async convergence(): Promise<{ problems: string[]; writable?: Instance }> {
    const engine = this.engine;
    const problems: string[] = [];
    const resource = await this.platform.client.find<Cluster>({
      apiVersion: API_VERSION,
      kind: "Cluster",
      namespace: this.cluster.namespace,
      name: NAME,
    });
    if (!resource || !isInPhase(resource, "Running"))
      problems.push(`cluster ${resource?.status?.phase ?? "missing"} (not Running for its current spec)`);
    const instances = await this.instances();
    if (instances.length !== engine.replicas.initial)
      problems.push(`${instances.length} instances, expected ${engine.replicas.initial}`);
    for (const i of instances) {
      if (!i.ready) problems.push(`${i.name} not ready`);
      if (!i.role) problems.push(`${i.name} has no role label`);
    }
    const labelled = instances.filter((i) => i.role === engine.writableRole);
    if (labelled.length !== 1) problems.push(`${labelled.length} instances labelled ${engine.writableRole}`);
    const states = await Promise.all(
      instances.map((i) => askState(this.binding, i.ip, 2000).catch(() => undefined)),
    );
    const claimants = instances.filter((_, n) => states[n]?.writable).map((i) => i.name);
    if (claimants.length !== 1 || claimants[0] !== labelled[0]?.name)
      problems.push(`claiming the writable role: [${claimants.join(", ")}]`);
    const writable = labelled[0];
    if (problems.length > 0 || !writable) return { problems };
    const members = (await engine.members(this.cluster, instances)).sort();
    if (members.join() !== instances.map((i) => i.name).join())
      problems.push(`${engine.name} members: [${members.join(", ")}]`);
    problems.push(...(await this.binding.divergence(writable, instances)));
    return { problems, writable };
  }

  /** One round: a writer and a watcher around one fault, until the cluster converged and writes resumed. */
  async round(fault: Fault): Promise<RoundResult> {
    const writableBefore = await this.converged().catch(async (error: Error) => {
      error.message = `before the fault: ${error.message}\n${await diagnostics(this.platform, this.cluster)}`;
      throw error;
    });
    const target =
      fault.target === "writable"
        ? writableBefore
        : (await this.instances()).find((i) => i.name !== writableBefore.name)!;
    const faults = await this.platform.hostlet.faults();
    const writer = new ChaosWriter(this.binding, `${fault.name}-${++this.rounds}`).start();
    const watcher = await new SplitBrainWatcher(this.binding, () => this.instances()).start();
    let faultAt = Date.now();
    let writable: Instance | undefined;
    let error: string | undefined;
    try {
      await this.progress(writer, "before the fault");
      faultAt = Date.now();
      await fault.inject({
        platform: this.platform,
        cluster: this.cluster,
        engine: this.engine,
        faults,
        target,
      });
      writable = await this.converged();
      await this.progress(writer, "after convergence");
    } catch (e) {
      error = `${(e as Error).message}\n${await diagnostics(this.platform, this.cluster).catch(String)}`;
    } finally {
      await writer.stop();
      await watcher.stop();
    }
    const writerStoppedAt = writer.stoppedAt!;
    const records = writer.records;
    const stale = staleAcks(records, watcher.claims);
    const servers = new Map((await this.instances().catch(() => [])).map((i) => [i.ip, i.name]));
    return {
      engine: this.engine.name,
      fault: fault.name,
      writes: records.length,
      acknowledged: writer.acknowledged,
      writeGapMs: longestGap(records, faultAt, writerStoppedAt),
      ...(writable && !error
        ? { lost: lostWrites(records, await this.binding.stored(writable.ip, writer.stream)) }
        : {}),
      staleAcks: stale.length,
      samples: watcher.samples,
      claimSamples: watcher.claimSamples,
      splitBrainSamples: watcher.splitBrainSamples,
      incidents: [
        ...watcher.incidents,
        ...stale
          .slice(0, 5)
          .map(
            (r) =>
              `write ${r.id} acknowledged by ${servers.get(r.ack!.server) ?? r.ack!.server} with epoch ${r.ack!.epoch} after a newer epoch was seen`,
          ),
      ],
      ...(error ? { error } : {}),
    };
  }

  private async progress(writer: ChaosWriter, when: string): Promise<void> {
    const target = writer.acknowledged + STEADY_WRITES;
    await waitFor(() => writer.acknowledged >= target, {
      description: `${STEADY_WRITES} acknowledged writes ${when}`,
      timeoutMs: 60_000,
    }).catch((error: Error) => {
      error.message = `${error.message}; last write error: ${writer.lastError}`;
      throw error;
    });
  }

  async stop(): Promise<void> {
    await this.platform.stop();
  }
}
