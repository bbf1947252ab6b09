import {
  API_VERSION,
  annotations,
  componentRestartedAt,
  markerTime,
  restartMarker,
  type OpsStep,
} from "@tessera/api";
import { podIsReady } from "../../actions/runner.js";
import { orderStages } from "../../definitions.js";
import {
  componentPhase,
  componentSettled,
  componentSpec,
  instanceIssue,
  instanceNames,
  targetComponents,
  sectionErrors,
} from "../cluster-spec.js";
import type { InstanceReport, OpsHandler } from "../handler.js";

/** A marker later than `existing` (and not before now), so writing it always restarts. */
export function nextMarker(existing: string | undefined, now = Date.now()): string {
  return new Date(Math.max(now, markerTime(existing) + 1)).toISOString();
}

/**
 * Restart: each component in turn gets a restart marker of its own on the
 * Cluster (`restarted-at.tessera.dev/<component>`). It reaches the pod
 * template, so the InstanceSet's role-aware rolling update restarts every
 * instance: lowest update priority first, a switchover away from the writable
 * one, which restarts last. An instance is done once its pod carries the marker
 * and is ready; the step once all are and the component is Running.
 */
export const restart: OpsHandler = {
  type: "Restart",
  cancellable: false,

  validate(op, cluster) {
    return sectionErrors(cluster, "restart", op.spec.restart);
  },

  precondition(op, view) {
    for (const name of targetComponents(view.cluster, op.spec.restart)) {
      const phase = componentPhase(view, name);
      if (phase === "Stopped" || phase === "Stopping" || componentSpec(view.cluster, name)?.stop)
        return `component ${name} is stopped; start it first (an OpsRequest of type Start)`;
      if (phase === "Creating" || phase === "not created yet")
        return `component ${name} is still being created (${phase}); restart it once it is Running`;
    }
    return undefined;
  },

  plan(op, view) {
    // Listed components restart in the order given; all of them in the topology's update order.
    const names = op.spec.restart?.length
      ? targetComponents(view.cluster, op.spec.restart)
      : orderStages(
          view.resolved.topology?.orders?.update,
          view.resolved.components.map((c) => c.name),
        ).flat();
    return {
      steps: names.map((name): OpsStep => ({
        name: `restart ${name}`,
        component: name,
        phase: "Pending",
        marker: nextMarker(restartMarker(view.cluster.metadata.annotations, name)),
      })),
    };
  },

  async execute(step, { view, ctx }) {
    const name = step.component!;
    const marker = step.marker!;
    const cluster = view.cluster;
    if (markerTime(restartMarker(cluster.metadata.annotations, name)) < markerTime(marker)) {
      await ctx.client.patch(
        {
          apiVersion: API_VERSION,
          kind: "Cluster",
          namespace: cluster.metadata.namespace,
          name: cluster.metadata.name!,
        },
        { metadata: { annotations: { [componentRestartedAt(name)]: marker } } },
        "merge",
      );
    }
    const pods = new Map(view.pods(name).map((p) => [p.metadata!.name!, p]));
    const spec = componentSpec(cluster, name)!;
    const instances = instanceNames(cluster.metadata.name!, name, spec).map((instance): InstanceReport => {
      const pod = pods.get(instance);
      const base = { name: instance, component: name, action: "Restart" };
      const restarted =
        pod !== undefined &&
        markerTime(pod.metadata?.annotations?.[annotations.restartedAt]) >= markerTime(marker);
      const terminating = Boolean(pod?.metadata?.deletionTimestamp);
      if (restarted && !terminating && podIsReady(pod!)) return { ...base, phase: "Succeed" };
      if (!pod || terminating || restarted) {
        const issue = instanceIssue(view, name, instance);
        return {
          ...base,
          phase: "Processing",
          message: issue ?? (terminating ? "stopping" : pod ? "starting" : "being recreated"),
        };
      }
      return { ...base, phase: "Pending", message: "waiting for its turn" };
    });
    const done = instances.every((i) => i.phase === "Succeed") && componentSettled(view, name, "Running");
    return {
      state: done ? "done" : "running",
      message: done ? `${name} restarted` : `restarting ${name}`,
      instances,
    };
  },
};
