import type { V1ContainerStateTerminated, V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import type { InstanceStatus } from "@tessera/api";

/** Why an instance is not ready, as the scheduler or the node said it. */
export interface InstanceProblem {
  reason: string;
  message: string;
}

/** Waiting reasons that are a normal step of starting a container, not a problem (unless explained). */
const STARTING = new Set(["ContainerCreating", "PodInitializing"]);

function condition(pod: V1Pod, type: string) {
  return pod.status?.conditions?.find((c) => c.type === type);
}

function lastExit(terminated: V1ContainerStateTerminated): string {
  const why = [terminated.reason, terminated.message?.trim()].filter(Boolean).join(": ");
  return `last exited with code ${terminated.exitCode}${why ? ` (${why})` : ""}`;
}

function waitingProblem(status: V1ContainerStatus): InstanceProblem | undefined {
  const waiting = status.state?.waiting;
  if (!waiting?.reason || (STARTING.has(waiting.reason) && !waiting.message)) return undefined;
  const last = status.lastState?.terminated;
  const details = [waiting.message, last ? lastExit(last) : undefined].filter(Boolean).join("; ");
  return { reason: waiting.reason, message: `container ${status.name}${details ? `: ${details}` : ""}` };
}

/**
 * Why a pod is not ready, most telling first: it is going away, the scheduler cannot place it
 * (its PodScheduled message, e.g. "0/1 nodes are available: 1 Insufficient memory."), it ended,
 * a container cannot start (image, configuration) or keeps failing, or a readiness probe fails.
 * Undefined for a ready pod and for one that is simply starting.
 */
export function instanceProblem(pod: V1Pod): InstanceProblem | undefined {
  if (pod.metadata?.deletionTimestamp) return { reason: "Terminating", message: "the pod is being deleted" };
  const scheduled = condition(pod, "PodScheduled");
  if (scheduled?.status === "False") {
    return {
      reason: scheduled.reason || "Unschedulable",
      message: scheduled.message || "the scheduler cannot place the pod",
    };
  }
  const phase = pod.status?.phase;
  if (phase === "Failed" || phase === "Succeeded") {
    return {
      reason: pod.status?.reason || phase,
      message: pod.status?.message || `the pod's phase is ${phase}`,
    };
  }
  const containers = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const status of containers) {
    const problem = waitingProblem(status);
    if (problem) return problem;
  }
  const ready = condition(pod, "Ready");
  if (ready?.status === "True") return undefined;
  for (const status of pod.status?.containerStatuses ?? []) {
    const last = status.lastState?.terminated;
    if (!status.ready && status.restartCount > 0 && last) {
      return {
        reason: "Restarted",
        message: `container ${status.name} restarted ${status.restartCount} time(s), ${lastExit(last)}`,
      };
    }
  }
  if (phase === "Running" && ready?.status === "False") {
    return { reason: ready.reason || "NotReady", message: ready.message || "a readiness probe fails" };
  }
  return undefined;
}

/** How many distinct problems a summary spells out; the rest are counted. */
const SHOWN = 3;

/**
 * One line naming the instances that are not ready and why, instances with the same problem
 * together, e.g. `db-kv-0, db-kv-1 Unschedulable: 0/1 nodes are available: 1 Insufficient memory.`
 * Undefined when no instance has a known problem.
 */
export function summariseNotReady(
  instances: Pick<InstanceStatus, "name" | "ready" | "reason" | "message">[],
): string | undefined {
  const groups = new Map<string, { reason: string; message?: string; names: string[] }>();
  for (const instance of instances) {
    if (instance.ready || !instance.reason) continue;
    const key = `${instance.reason}\n${instance.message ?? ""}`;
    const group = groups.get(key) ?? { reason: instance.reason, message: instance.message, names: [] };
    group.names.push(instance.name);
    groups.set(key, group);
  }
  if (groups.size === 0) return undefined;
  const all = [...groups.values()];
  const parts = all
    .slice(0, SHOWN)
    .map((g) => `${g.names.join(", ")} ${g.reason}${g.message ? `: ${g.message}` : ""}`);
  const more = all.slice(SHOWN).reduce((sum, g) => sum + g.names.length, 0);
  if (more > 0) parts.push(`${more} more instance(s) not ready`);
  return parts.join("; ");
}
