import type { ComponentConfiguration, OpsRequest } from "@tessera/api";
import { podIsReady } from "../../actions/runner.js";
import {
  componentSettled,
  componentSpec,
  configurationOf,
  instanceIssue,
  instanceNames,
  overwritten,
  targetComponents,
  sectionErrors,
  writeComponent,
} from "../cluster-spec.js";
import type { ClusterView, InstanceReport, OpsHandler, StepContext, StepOutcome } from "../handler.js";

type Section = "stop" | "start";

function components(op: OpsRequest, view: ClusterView, section: Section): string[] {
  return targetComponents(view.cluster, op.spec[section]);
}

/** Instances going away: done once their pod is gone. */
function stopping(view: ClusterView, name: string): InstanceReport[] {
  const pods = new Map(view.pods(name).map((p) => [p.metadata!.name!, p]));
  return instanceNames(view.cluster.metadata.name!, name, componentSpec(view.cluster, name)!).map(
    (instance): InstanceReport => {
      const pod = pods.get(instance);
      const base = { name: instance, component: name, action: "Stop" };
      if (!pod) return { ...base, phase: "Succeed" };
      return { ...base, phase: "Processing", message: "stopping" };
    },
  );
}

/** Instances coming back: done once their pod is ready. */
function starting(view: ClusterView, name: string): InstanceReport[] {
  const pods = new Map(view.pods(name).map((p) => [p.metadata!.name!, p]));
  return instanceNames(view.cluster.metadata.name!, name, componentSpec(view.cluster, name)!).map(
    (instance): InstanceReport => {
      const pod = pods.get(instance);
      const base = { name: instance, component: name, action: "Start" };
      if (pod && !pod.metadata?.deletionTimestamp && podIsReady(pod)) return { ...base, phase: "Succeed" };
      return {
        ...base,
        phase: "Processing",
        message: instanceIssue(view, name, instance) ?? (pod ? "starting" : "being created"),
      };
    },
  );
}

/**
 * Sets `stop` on the given components (when `write`; afterwards it must stay
 * as written) and reports them stopped or running as `stop` says.
 */
async function converge(
  { view, ctx }: StepContext,
  targets: string[],
  stop: (name: string) => boolean,
  write: boolean,
): Promise<StepOutcome> {
  for (const name of targets) {
    if (write) {
      await writeComponent(ctx, view.cluster, name, { stop: stop(name) });
      continue;
    }
    const changed = await overwritten(ctx, view.cluster, name, { stop: stop(name) });
    if (changed) return { state: "failed", reason: "ClusterChanged", message: changed, instances: [] };
  }
  const instances = targets.flatMap((name) => (stop(name) ? stopping(view, name) : starting(view, name)));
  const done =
    instances.every((i) => i.phase === "Succeed") &&
    targets.every((name) => componentSettled(view, name, stop(name) ? "Stopped" : "Running"));
  return { state: done ? "done" : "running", message: "", instances };
}

function lastConfiguration(op: OpsRequest, view: ClusterView, section: Section) {
  return Object.fromEntries(
    components(op, view, section).map((name): [string, ComponentConfiguration] => [
      name,
      { stop: configurationOf(componentSpec(view.cluster, name)!).stop ?? false },
    ]),
  );
}

function stopStart(section: Section): OpsHandler {
  const stopIt = section === "stop";
  const verb = stopIt ? "stop" : "start";
  return {
    type: stopIt ? "Stop" : "Start",
    cancellable: true,

    validate(op, cluster) {
      return sectionErrors(cluster, section, op.spec[section]);
    },

    precondition() {
      // Stopping a stopped component or starting a running one has nothing to do, and succeeds.
      return undefined;
    },

    plan(op, view) {
      const targets = components(op, view, section);
      return {
        steps: [{ name: `${verb} ${targets.join(", ")}`, phase: "Pending" }],
        lastConfiguration: lastConfiguration(op, view, section),
      };
    },

    async execute(step, context) {
      const targets = components(context.op, context.view, section);
      const outcome = await converge(context, targets, () => stopIt, step.phase === "Pending");
      outcome.message =
        outcome.state === "done"
          ? `${targets.join(", ")} ${stopIt ? "stopped" : "running"}`
          : `${stopIt ? "stopping" : "starting"} ${targets.join(", ")}`;
      return outcome;
    },

    async revert(context) {
      const last = context.op.status?.lastConfiguration ?? {};
      const targets = Object.keys(last);
      const outcome = await converge(context, targets, (name) => last[name]?.stop ?? false, true);
      outcome.message =
        outcome.state === "done"
          ? `${targets.join(", ")} back as before`
          : `putting back ${targets.join(", ")} as before`;
      return outcome;
    },
  };
}

/** Stop: pods are deleted, volumes and data stay; the components report Stopped. */
export const stop = stopStart("stop");
/** Start: stopped components run again on their volumes; done once Running. */
export const start = stopStart("start");
