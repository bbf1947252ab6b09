import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import {
  API_VERSION,
  MANAGED_BY,
  annotations,
  labels,
  restartMarker,
  type Cluster,
  type ClusterPhase,
  type Backup,
  type Component,
  type ComponentRestore,
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
import { isLeftover, recordedCluster, recordPatch } from "./volumes.js";
import { logArchiveTarget, restoreSource, RestoreSourceError } from "../backup/restore-source.js";

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
 * component: created in provision order, updated in update order. Deletion
 * is the garbage collector's (see `finalize` and `holdIfProtected`); volumes,
 * which nothing owns but under WipeOut, go as their cluster's policy says.
 */
export class ClusterController {
  readonly controller: Controller;
  private readonly clusters: Informer<Cluster>;
  private readonly components: Informer<Component>;
  private readonly claims: Informer<V1PersistentVolumeClaim>;
  private readonly backups: Informer<Backup>;

  constructor(
    private readonly ctx: OperatorContext,
    private readonly catalog: DefinitionCatalog,
  ) {
    this.clusters = ctx.informers.get<Cluster>(API_VERSION, KIND);
    this.components = ctx.informers.get<Component>(API_VERSION, "Component");
    this.claims = ctx.informers.get<V1PersistentVolumeClaim>("v1", "PersistentVolumeClaim", {
      labelSelector: `${labels.managedBy}=${MANAGED_BY}`,
    });
    this.backups = ctx.informers.get<Backup>(API_VERSION, "Backup");
    this.controller = new Controller({
      name: "cluster",
      reconcile: (req) => this.reconcile(req.key),
      concurrency: 2,
      logger: ctx.logger,
    })
      .watches(this.clusters)
      .owns(this.components, KIND)
      // Volumes outlive their cluster: a claim names the cluster whose deletion decides its fate.
      .watchesMapped(this.claims, (claim) => {
        const cluster = claim.metadata?.labels?.[labels.cluster];
        return cluster ? [`${claim.metadata!.namespace}/${cluster}`] : [];
      });
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
    const [namespace, name] = key.split("/") as [string, string];
    await this.removeLeftoverVolumes(namespace, name, cached?.metadata.uid);
    if (!cached) return;
    const cluster = structuredClone(cached);
    if (cluster.metadata.deletionTimestamp) return this.finalize(cluster);
    await this.holdIfProtected(cluster, await this.recordOnVolumes(cluster));
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
        const current = existing.get(names.component(cluster.metadata.name!, name));
        let restore: ComponentRestore | undefined;
        try {
          restore = current ? current.spec.restore : restoreSource(cluster, component, this.backups);
        } catch (error) {
          if (!(error instanceof RestoreSourceError)) throw error;
          await this.writeStatus(cluster, "Creating", error.message, [], {
            reason: error.reason,
            message: error.message,
          });
          return { requeueAfterMs: 5000 };
        }
        const applied = await applyUnlessCurrent(
          this.ctx.client,
          this.components,
          this.desiredComponent(cluster, component, restore),
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

  private desiredComponent(
    cluster: Cluster,
    resolved: ResolvedComponent,
    restore: ComponentRestore | undefined,
  ): Component {
    const logArchive = logArchiveTarget(cluster, resolved);
    const spec = cluster.spec.componentSpecs[resolved.specIndex]!;
    const name = names.component(cluster.metadata.name!, resolved.name);
    const restartedAt = restartMarker(cluster.metadata.annotations, resolved.name);
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
        ...(spec.services ? { services: spec.services } : {}),
        ...(spec.disableExporter !== undefined ? { disableExporter: spec.disableExporter } : {}),
        ...(spec.labels ? { labels: spec.labels } : {}),
        ...(spec.annotations ? { annotations: spec.annotations } : {}),
        ...(restore ? { restore } : {}),
        ...(logArchive ? { logArchive } : {}),
      },
    };
  }

  /**
   * Only a DoNotTerminate cluster is still here once deleted: it stays (with
   * a condition that says how to proceed) until its policy changes. Then its
   * volumes are made to record the new policy and it is let go; the garbage
   * collector removes what it owns.
   */
  private async finalize(cluster: Cluster): Promise<ReconcileResult | void> {
    if (!hasFinalizer(cluster, finalizers.cluster)) return;
    if (cluster.spec.terminationPolicy === "DoNotTerminate") {
      const message = `deletion blocked: terminationPolicy is DoNotTerminate; set spec.terminationPolicy to Delete or WipeOut to delete ${cluster.metadata.name}`;
      await this.ctx.recorder.record(cluster, "Warning", "DeletionBlocked", message);
      await this.writeStatus(cluster, "Deleting", message, this.componentsOf(cluster), {
        reason: "DeletionBlocked",
        message,
      });
      return;
    }
    if (!(await this.recordOnVolumes(cluster))) return { requeueAfterMs: 1000 };
    await removeFinalizer(this.ctx.client, ref(cluster), finalizers.cluster);
  }

  /**
   * A finalizer holds only DoNotTerminate clusters: under any other policy the
   * apiserver deletes a cluster at once and the garbage collector removes what
   * it owns, whether or not the operator runs. The finalizer comes off once the
   * volumes record the new policy, so a deletion right after the change finds
   * their fate written on them.
   */
  private async holdIfProtected(cluster: Cluster, volumesRecorded: boolean): Promise<void> {
    const held = hasFinalizer(cluster, finalizers.cluster);
    if (cluster.spec.terminationPolicy === "DoNotTerminate") {
      if (!held) await addFinalizer(this.ctx.client, ref(cluster), finalizers.cluster);
    } else if (held && volumesRecorded) {
      await removeFinalizer(this.ctx.client, ref(cluster), finalizers.cluster);
    }
  }

  /** The volume claims carrying this cluster's name. */
  private claimsNamed(namespace: string, name: string): V1PersistentVolumeClaim[] {
    return this.claims
      .list(namespace)
      .filter((c) => c.metadata?.labels?.[labels.cluster] === name && !c.metadata.deletionTimestamp);
  }

  /**
   * Makes every volume of the cluster record its UID and policy (see
   * `recordPatch`); true when all of them already did.
   */
  private async recordOnVolumes(cluster: Cluster): Promise<boolean> {
    let current = true;
    for (const claim of this.claimsNamed(cluster.metadata.namespace!, cluster.metadata.name!)) {
      const recorded = recordedCluster(claim);
      if (recorded && recorded !== cluster.metadata.uid) continue;
      const patch = recordPatch(claim, cluster);
      if (!patch) continue;
      current = false;
      await this.ctx.client.patch(
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          namespace: claim.metadata!.namespace,
          name: claim.metadata!.name!,
        },
        patch,
        "merge",
      );
    }
    return current;
  }

  /**
   * Removes the volumes of a deleted cluster of this name whose policy let
   * them go, once their component is gone too (a cluster deleted with
   * `--cascade=orphan` leaves its components, and they keep their volumes):
   * at the deletion when the operator runs, or when it comes back. Deleting
   * data is never decided from the cache: the cluster and the component are
   * looked up on the apiserver first, and a claim that records a live cluster
   * stays.
   */
  private async removeLeftoverVolumes(namespace: string, name: string, cachedUID?: string): Promise<void> {
    const componentOf = (claim: V1PersistentVolumeClaim) => claim.metadata!.labels?.[labels.component] ?? "";
    const candidates = this.claimsNamed(namespace, name).filter(
      (c) =>
        componentOf(c) !== "" &&
        isLeftover(c, cachedUID) &&
        !this.components.get(`${namespace}/${componentOf(c)}`),
    );
    if (candidates.length === 0) return;
    const find = (kind: string, objectName: string) =>
      this.ctx.client.find({ apiVersion: API_VERSION, kind, namespace, name: objectName });
    const live = await find(KIND, name);
    const components = new Map<string, boolean>();
    for (const claim of candidates.filter((c) => isLeftover(c, live?.metadata?.uid))) {
      const component = componentOf(claim);
      if (!components.has(component)) components.set(component, Boolean(await find("Component", component)));
      if (components.get(component)) continue;
      const policy = claim.metadata!.annotations![annotations.terminationPolicy];
      await this.ctx.client.delete(
        { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name: claim.metadata!.name! },
        { preconditions: { uid: claim.metadata!.uid! } },
      );
      await this.ctx.recorder.record(
        claim,
        "Normal",
        "VolumeRemoved",
        `cluster ${name} was deleted under terminationPolicy ${policy}; its volume ${claim.metadata!.name} goes with it`,
      );
    }
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
