import {
  API_VERSION,
  annotations,
  labels,
  type Cluster,
  type ClusterPhase,
  type Component,
} from "@tessera/api";
import {
  Controller,
  addFinalizer,
  hasFinalizer,
  objectKey,
  removeFinalizer,
  updateStatus,
  type Informer,
  type ReconcileResult,
} from "@tessera/kube";
import { applyUnlessCurrent } from "../apply.js";
import { setCondition } from "../conditions.js";
import type { OperatorContext } from "../context.js";
import {
  DefinitionError,
  orderStages,
  resolveCluster,
  type DefinitionCatalog,
  type ResolvedCluster,
  type ResolvedComponent,
} from "../definitions.js";
import { finalizers, names } from "../naming.js";
import { componentLabels, ownerReference } from "../component/workload.js";

const KIND = "Cluster";

/** Aggregates component phases into the cluster phase; the most urgent state wins. */
export function aggregatePhase(phases: (ClusterPhase | undefined)[], deleting: boolean): ClusterPhase {
  if (deleting) return "Deleting";
  if (phases.length === 0) return "Creating";
  const has = (p: ClusterPhase) => phases.includes(p);
  if (phases.every((p) => p === "Running")) return "Running";
  if (phases.every((p) => p === "Stopped")) return "Stopped";
  if (has("Failed")) return "Failed";
  if (has("Stopping") || has("Stopped")) return "Stopping";
  if (has("Creating") || phases.includes(undefined)) return "Creating";
  if (has("Updating")) return "Updating";
  return "Abnormal";
}

/** What the Ready condition and status of a cluster say a component is doing. */
export interface ComponentSummary {
  name: string;
  phase?: ClusterPhase;
  message?: string;
}

/**
 * The cluster's status message: what it waits for and, in the components' own words (which name
 * the instance and the scheduler's or node's reason), why those not running are not.
 */
export function clusterMessage(
  phase: ClusterPhase,
  waitingFor: string | undefined,
  components: ComponentSummary[],
): string {
  if (phase === "Running") return "all components running";
  const explained = components.filter((c) => c.phase !== "Running" && c.message);
  const waiting = explained.find((c) => c.name === waitingFor);
  const head = waitingFor
    ? `waiting for component ${waitingFor}${waiting ? `: ${waiting.message}` : ""}`
    : phase;
  const others = explained.filter((c) => c !== waiting).map((c) => `component ${c.name}: ${c.message}`);
  return [head, ...others].join("; ");
}

/**
 * Resolves a Cluster's topology and keeps one Component per topology
 * component: created in provision order, updated in update order, deleted
 * in terminate order, honouring the termination policy.
 */
export class ClusterController {
  readonly controller: Controller;
  private readonly clusters: Informer<Cluster>;
  private readonly components: Informer<Component>;

  constructor(
    private readonly ctx: OperatorContext,
    private readonly catalog: DefinitionCatalog,
  ) {
    this.clusters = ctx.informers.get<Cluster>(API_VERSION, KIND);
    this.components = ctx.informers.get<Component>(API_VERSION, "Component");
    this.controller = new Controller({
      name: "cluster",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 2,
      logger: ctx.logger,
    })
      .watches(this.clusters)
      .owns(this.components, KIND);
    // A new or changed definition may unblock objects waiting for it.
    catalog.onChange(() => {
      for (const key of this.clusters.list().map(objectKey)) this.controller.enqueue(key);
    });
  }

  private componentsOf(cluster: Cluster): Component[] {
    return this.components
      .list(cluster.metadata.namespace)
      .filter((c) => c.metadata.labels?.[labels.cluster] === cluster.metadata.name);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const cached = this.clusters.get(key);
    if (!cached) return;
    const cluster = structuredClone(cached);
    if (cluster.metadata.deletionTimestamp) return this.finalize(cluster);
    if (!hasFinalizer(cluster, finalizers.cluster)) {
      await addFinalizer(this.ctx.client, ref(cluster), finalizers.cluster);
    }
    let resolved: ResolvedCluster;
    try {
      resolved = resolveCluster(this.catalog, cluster);
    } catch (error) {
      if (!(error instanceof DefinitionError)) throw error;
      await this.ctx.recorder.record(cluster, "Warning", error.reason, error.message);
      await this.writeStatus(cluster, "Failed", error.message, [], {
        reason: error.reason,
        message: error.message,
      });
      return;
    }
    const existing = new Map(this.componentsOf(cluster).map((c) => [c.metadata.name!, c]));
    const allExist = resolved.components.every((c) =>
      existing.has(names.component(cluster.metadata.name!, c.name)),
    );
    const orders = resolved.topology?.orders;
    const stages = orderStages(
      allExist ? orders?.update : orders?.provision,
      resolved.components.map((c) => c.name),
    );
    let waitingFor: string | undefined;
    // Generations produced by this reconcile's writes: the cache may still hold older ones.
    const generations = new Map<string, number | undefined>();
    for (const stage of stages) {
      for (const name of stage) {
        const component = resolved.components.find((c) => c.name === name)!;
        const applied = await applyUnlessCurrent(
          this.ctx.client,
          this.components,
          this.desiredComponent(cluster, component),
        );
        generations.set(applied.metadata.name!, applied.metadata.generation);
      }
      const pending = stage.find((name) => {
        const current = existing.get(names.component(cluster.metadata.name!, name));
        return (
          !current ||
          current.status?.phase !== "Running" ||
          current.status.observedGeneration !==
            (generations.get(current.metadata.name!) ?? current.metadata.generation)
        );
      });
      if (pending && !cluster.spec.componentSpecs.every((c) => c.stop)) {
        waitingFor = pending;
        break;
      }
    }
    const components = this.componentsOf(cluster);
    const summaries = resolved.components.map((c): ComponentSummary => {
      const current = components.find(
        (x) => x.metadata.name === names.component(cluster.metadata.name!, c.name),
      );
      // A component that has not seen its latest spec is still updating, whatever it reported before.
      const generation = generations.get(current?.metadata.name ?? "") ?? current?.metadata.generation;
      if (current && current.status?.observedGeneration !== generation)
        return { name: c.name, phase: "Updating" };
      return { name: c.name, phase: current?.status?.phase, message: current?.status?.message };
    });
    const phase = aggregatePhase(
      summaries.map((s) => s.phase),
      false,
    );
    const message = clusterMessage(phase, waitingFor, summaries);
    await this.writeStatus(cluster, phase, message, components, undefined, resolved);
    return phase === "Running" || phase === "Stopped" ? undefined : { requeueAfterMs: 5000 };
  }

  private desiredComponent(cluster: Cluster, resolved: ResolvedComponent): Component {
    const spec = cluster.spec.componentSpecs[resolved.specIndex]!;
    const name = names.component(cluster.metadata.name!, resolved.name);
    const restartedAt = cluster.metadata.annotations?.[annotations.restartedAt];
    return {
      apiVersion: API_VERSION,
      kind: "Component",
      metadata: {
        name,
        namespace: cluster.metadata.namespace,
        labels: componentLabels(cluster.metadata.name!, name),
        ...(restartedAt ? { annotations: { [annotations.restartedAt]: restartedAt } } : {}),
        ownerReferences: [ownerReference(cluster)],
      },
      spec: {
        compDef: resolved.compDef.metadata.name!,
        serviceVersion: resolved.release.serviceVersion,
        terminationPolicy: cluster.spec.terminationPolicy,
        replicas: spec.replicas,
        ...(spec.resources ? { resources: spec.resources } : {}),
        ...(spec.volumeClaimTemplates ? { volumeClaimTemplates: spec.volumeClaimTemplates } : {}),
        ...(spec.instances ? { instances: spec.instances } : {}),
        ...(spec.offlineInstances ? { offlineInstances: spec.offlineInstances } : {}),
        ...(spec.parameters ? { parameters: spec.parameters } : {}),
        ...(spec.stop !== undefined ? { stop: spec.stop } : {}),
        ...(spec.disableExporter !== undefined ? { disableExporter: spec.disableExporter } : {}),
        ...(spec.labels ? { labels: spec.labels } : {}),
        ...(spec.annotations ? { annotations: spec.annotations } : {}),
      },
    };
  }

  /**
   * DoNotTerminate keeps the cluster (and refuses with a condition that
   * says how to proceed); otherwise components go in terminate order, each
   * stage gone before the next starts.
   */
  private async finalize(cluster: Cluster): Promise<ReconcileResult | void> {
    if (!hasFinalizer(cluster, finalizers.cluster)) return;
    const components = this.componentsOf(cluster);
    if (cluster.spec.terminationPolicy === "DoNotTerminate") {
      const message = `deletion blocked: terminationPolicy is DoNotTerminate; set spec.terminationPolicy to Delete or WipeOut to delete ${cluster.metadata.name}`;
      await this.ctx.recorder.record(cluster, "Warning", "DeletionBlocked", message);
      await this.writeStatus(cluster, "Deleting", message, components, {
        reason: "DeletionBlocked",
        message,
      });
      return;
    }
    let stages: string[][];
    try {
      const resolved = resolveCluster(this.catalog, cluster);
      const order = resolved.topology?.orders?.terminate;
      const componentNames = resolved.components.map((c) => c.name);
      stages = order
        ? orderStages(order, componentNames)
        : orderStages(resolved.topology?.orders?.provision, componentNames).reverse();
    } catch {
      stages = [cluster.spec.componentSpecs.map((c) => c.name)];
    }
    const prefix = `${cluster.metadata.name}-`;
    const stageOf = (component: Component) =>
      stages.findIndex((s) => s.includes(component.metadata.name!.slice(prefix.length)));
    const remaining = components.filter((c) => stageOf(c) >= 0);
    const current = remaining.length ? Math.min(...remaining.map(stageOf)) : -1;
    const deletable = current >= 0 ? remaining.filter((c) => stageOf(c) === current) : components;
    for (const component of deletable) {
      if (!component.metadata.deletionTimestamp) {
        await this.ctx.client.delete({
          apiVersion: API_VERSION,
          kind: "Component",
          namespace: component.metadata.namespace,
          name: component.metadata.name!,
        });
      }
    }
    if (components.length > 0) {
      await this.writeStatus(
        cluster,
        "Deleting",
        `deleting components ${deletable.map((c) => c.metadata.name).join(", ")}`,
        components,
      );
      return { requeueAfterMs: 1000 };
    }
    await removeFinalizer(this.ctx.client, ref(cluster), finalizers.cluster);
  }

  private async writeStatus(
    cluster: Cluster,
    phase: ClusterPhase,
    message: string,
    components: Component[],
    problem?: { reason: string; message: string },
    resolved?: ResolvedCluster,
  ): Promise<void> {
    await updateStatus<Cluster>(this.ctx.client, ref(cluster), (c) => {
      const prefix = `${cluster.metadata.name}-`;
      let conditions = setCondition(
        c.status?.conditions,
        {
          type: "DefinitionsResolved",
          status: !problem || problem.reason === "DeletionBlocked",
          reason: problem && problem.reason !== "DeletionBlocked" ? problem.reason : "Resolved",
          message:
            problem && problem.reason !== "DeletionBlocked"
              ? problem.message
              : "topology and definitions resolved",
        },
        cluster.metadata.generation,
      );
      conditions = setCondition(conditions, {
        type: "Ready",
        status: phase === "Running",
        reason: phase,
        message,
      });
      if (problem?.reason === "DeletionBlocked") {
        conditions = setCondition(conditions, {
          type: "DeletionBlocked",
          status: true,
          reason: problem.reason,
          message: problem.message,
        });
      }
      c.status = {
        ...c.status,
        phase,
        message,
        // The generation this status was computed from: the object re-read for the write may be newer.
        observedGeneration: cluster.metadata.generation,
        ...(resolved?.components[0] ? { engine: resolved.components[0].compDef.spec.serviceKind } : {}),
        components: Object.fromEntries(
          components.map((x) => [
            x.metadata.name!.slice(prefix.length),
            { phase: x.status?.phase, message: x.status?.message, compDef: x.spec.compDef },
          ]),
        ),
        conditions,
      };
    });
  }
}

function ref(cluster: Cluster) {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    namespace: cluster.metadata.namespace,
    name: cluster.metadata.name!,
  };
}
