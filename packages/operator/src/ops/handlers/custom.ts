import type { V1Pod } from "@kubernetes/client-node";
import {
  labels,
  type Cluster,
  type ComponentDefinition,
  type CustomOps,
  type CustomOpsParameter,
  type OpsStep,
} from "@tessera/api";
import { componentEnv, customOpsEnv } from "../../actions/contract/index.js";
import { ActionError, podIsReady } from "../../actions/runner.js";
import { quotedList, type ResolvedCluster } from "../../definitions.js";
import { isWritable, ordinalOf } from "../../instanceset/plan.js";
import { componentPhase, componentSpec } from "../cluster-spec.js";
import type { ClusterView, InstanceReport, OpsHandler, StepOutcome } from "../handler.js";

/** Longest stderr kept in the operation's message: the end of it, where the error usually is. */
const MAX_MESSAGE = 1000;

function definitionOf(resolved: ResolvedCluster, component: string): ComponentDefinition | undefined {
  return resolved.components.find((c) => c.name === component)?.compDef;
}

function declaredOps(resolved: ResolvedCluster, component: string, name: string): CustomOps | undefined {
  return definitionOf(resolved, component)?.spec.customOps?.find((o) => o.name === name);
}

/** Why a value does not fit its declared type, or undefined when it does. */
function typeError(parameter: CustomOpsParameter, value: string): string | undefined {
  switch (parameter.type) {
    case "integer":
      return /^[+-]?\d+$/.test(value) ? undefined : "is not an integer";
    case "boolean":
      return value === "true" || value === "false" ? undefined : "is not a boolean (true or false)";
    case "enum":
      return parameter.enum?.includes(value)
        ? undefined
        : `is not one of ${quotedList(parameter.enum ?? [])}`;
    case "string":
      return undefined;
  }
}

function parameterErrors(ops: CustomOps, given: Record<string, string>): string[] {
  const path = "spec.custom.parameters";
  const declared = ops.parameters ?? [];
  const errors: string[] = [];
  for (const name of Object.keys(given)) {
    if (!declared.some((p) => p.name === name))
      errors.push(
        `${path}.${name}: operation "${ops.name}" has no parameter "${name}"; parameters: ${quotedList(declared.map((p) => p.name))}`,
      );
  }
  for (const parameter of declared) {
    const value = given[parameter.name];
    if (value === undefined) {
      if (parameter.required)
        errors.push(
          `${path}.${parameter.name}: required by operation "${ops.name}" (${parameter.description})`,
        );
      continue;
    }
    const wrong = typeError(parameter, value);
    if (wrong) errors.push(`${path}.${parameter.name}: "${value}" ${wrong}`);
  }
  return errors;
}

const serving = (pod: V1Pod) => podIsReady(pod) && !pod.metadata?.deletionTimestamp;

/** The instances the operation runs in, by its target; undefined while the writable one is unknown. */
function chooseTargets(
  view: ClusterView,
  component: string,
  ops: CustomOps,
): { targets?: string[]; waiting?: string } {
  const roles = definitionOf(view.resolved, component)?.spec.roles ?? [];
  const ready = view
    .pods(component)
    .filter(serving)
    .sort((a, b) => ordinalOf(a.metadata!.name!) - ordinalOf(b.metadata!.name!));
  const writable = (pod: V1Pod) => isWritable(pod.metadata?.labels?.[labels.role], roles);
  const names = (pods: V1Pod[]) => pods.map((p) => p.metadata!.name!);
  const hasWritableRole = roles.some((r) => r.writable);
  switch (ops.target) {
    case "primary": {
      const primary = hasWritableRole ? ready.find(writable) : ready[0];
      return primary
        ? { targets: [primary.metadata!.name!] }
        : { waiting: `no ready ${hasWritableRole ? "writable " : ""}instance of ${component}` };
    }
    case "allReplicas": {
      const replicas = ready.filter((p) => !writable(p));
      return replicas.length ? { targets: names(replicas) } : { waiting: `no ready replica of ${component}` };
    }
    case "each":
      return ready.length
        ? { targets: names([...ready.filter((p) => !writable(p)), ...ready.filter(writable)]) }
        : { waiting: `no ready instance of ${component}` };
  }
}

/** The end of a failed run's stderr (stdout when it printed nothing there), trimmed. */
function failureText(error: unknown): string {
  if (!(error instanceof ActionError)) return String(error);
  const output = (error.result?.stderr.trim() || error.result?.stdout.trim()) ?? "";
  if (!output) return error.message;
  return output.length > MAX_MESSAGE ? `…${output.slice(-MAX_MESSAGE)}` : output;
}

const lastLine = (text: string) => text.trim().split("\n").at(-1)?.trim() ?? "";

/** How the action ended in one instance, once it did. */
interface Run {
  result?: { ok: true; stdout: string } | { ok: false; error: unknown };
}

/**
 * Actions in flight, by OpsRequest UID and instance. An action may run as long
 * as its timeoutSeconds allows (an hour for a long maintenance task) while the runner's few
 * workers serve every cluster, so it is started here and its end picked up by
 * a later look (the runner looks every few seconds). Lost with the process: a
 * restarted operator runs the action again in that instance.
 */
const runs = new Map<string, Run>();
const UNREAD_MS = 10 * 60_000;

/**
 * Custom: an operation the component's definition declares in `customOps`,
 * run through the action runner on its target instances one after another,
 * its parameters in the action's environment (never on a command line). The
 * targets are fixed when it starts; each instance done is persisted before
 * the next runs, so a restarted operator goes on with the next one. A running
 * action counts as progress (its own timeout bounds it). The first failure
 * ends the operation with the script's stderr.
 */
export const custom: OpsHandler = {
  type: "Custom",
  cancellable: false,

  validate(op, cluster: Cluster, resolved) {
    const entry = op.spec.custom;
    if (!entry)
      return ["spec.custom: name the component (componentName), the operation (opsName) and its parameters"];
    if (!componentSpec(cluster, entry.componentName)) {
      const known = cluster.spec.componentSpecs.map((c) => c.name);
      return [
        `spec.custom.componentName: cluster ${cluster.metadata.name} has no component "${entry.componentName}"; components: ${quotedList(known)}`,
      ];
    }
    const compDef = definitionOf(resolved, entry.componentName);
    const ops = declaredOps(resolved, entry.componentName, entry.opsName);
    if (!ops)
      return [
        `spec.custom.opsName: ComponentDefinition "${compDef?.metadata.name}" of component ${entry.componentName} declares no operation "${entry.opsName}"; operations: ${quotedList((compDef?.spec.customOps ?? []).map((o) => o.name))}`,
      ];
    return parameterErrors(ops, entry.parameters ?? {});
  },

  precondition(op, view) {
    const name = op.spec.custom!.componentName;
    const phase = componentPhase(view, name);
    return phase === "Running"
      ? undefined
      : `component ${name} is ${phase}; a custom operation needs it Running`;
  },

  plan(op) {
    const entry = op.spec.custom!;
    return {
      steps: [
        {
          name: `${entry.opsName} on ${entry.componentName}`,
          component: entry.componentName,
          phase: "Pending",
        },
      ],
    };
  },

  async execute(current, { op, view, ctx, save }): Promise<StepOutcome> {
    const entry = op.spec.custom!;
    const name = entry.componentName;
    const step: OpsStep = { ...current };
    const ops = declaredOps(view.resolved, name, entry.opsName);
    if (!ops)
      return {
        state: "failed",
        reason: "OperationNotDeclared",
        message: `the definition of component ${name} no longer declares operation "${entry.opsName}"`,
        instances: [],
      };
    if (!step.targets) {
      const chosen = chooseTargets(view, name, ops);
      if (!chosen.targets) return { state: "running", message: `waiting: ${chosen.waiting}`, instances: [] };
      await save({ targets: chosen.targets, completed: [] });
      Object.assign(step, { targets: chosen.targets, completed: [] });
    }
    const completed = [...(step.completed ?? [])];
    const previous = new Map(
      (op.status?.instances ?? []).filter((i) => i.component === name).map((i) => [i.name, i]),
    );
    const report = (instance: string, phase: InstanceReport["phase"], message?: string): InstanceReport => ({
      name: instance,
      component: name,
      action: "Custom",
      phase,
      ...(message ? { message } : {}),
    });
    const reports = (running: string | undefined, outcome?: InstanceReport) =>
      step.targets!.map((instance) => {
        if (outcome?.name === instance) return outcome;
        if (completed.includes(instance)) return report(instance, "Succeed", previous.get(instance)?.message);
        if (instance === running) return report(instance, "Processing", `running ${ops.name}`);
        return report(instance, "Pending", "waiting for its turn");
      });
    const next = step.targets!.find((t) => !completed.includes(t));
    if (!next)
      return { state: "done", message: `${ops.name} done on ${name}`, instances: reports(undefined) };
    const key = `${op.metadata.uid}/${next}`;
    const run = runs.get(key);
    const running: StepOutcome = {
      state: "running",
      message: `running ${ops.name} on ${next}`,
      instances: reports(next),
      progressing: true,
    };
    if (run && !run.result) return running;
    if (!run) {
      const pod = view.pods(name).find((p) => p.metadata?.name === next);
      if (!pod || !serving(pod))
        return {
          state: "running",
          message: `waiting for ${next} to be ready to run ${ops.name}`,
          instances: reports(next),
        };
      const set = view.instanceSet(name);
      const namespace = view.cluster.metadata.namespace!;
      const env = customOpsEnv(componentEnv(namespace, set?.spec.serviceName ?? "", set), {
        name: ops.name,
        request: op.metadata.name!,
        declared: (ops.parameters ?? []).map((p) => p.name),
        given: entry.parameters ?? {},
      });
      const started: Run = {};
      runs.set(key, started);
      const settle = (result: Run["result"]) => {
        started.result = result;
        // Normally read within seconds; one nobody reads (the operation ended meanwhile) is dropped.
        setTimeout(() => runs.delete(key), UNREAD_MS).unref();
      };
      ctx.actions.run(`customOps.${ops.name}`, ops.action, { namespace, pods: [pod], pod: next, env }).then(
        ([outcome]) => settle({ ok: true, stdout: outcome!.result.stdout }),
        (error: unknown) => settle({ ok: false, error }),
      );
      return running;
    }
    runs.delete(key);
    if (!run.result!.ok) {
      const text = failureText(run.result!.error);
      return {
        state: "failed",
        reason: "ActionFailed",
        message: `${ops.name} failed on ${next}: ${text}`,
        instances: reports(undefined, report(next, "Failed", text)),
      };
    }
    const stdout = run.result!.stdout;
    completed.push(next);
    await save({ completed });
    const done = completed.length === step.targets!.length;
    return {
      state: done ? "done" : "running",
      message: done ? `${ops.name} done on ${name}` : `${ops.name} done on ${next}`,
      instances: reports(undefined, report(next, "Succeed", lastLine(stdout))),
    };
  },
};
