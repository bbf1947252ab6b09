import type { V1Pod } from "@kubernetes/client-node";
import { API_VERSION, type InstanceSet, type InstanceSetStatus } from "@tessera/api";
import { errorMessage, updateStatus } from "@tessera/kube";
import { componentEnv, switchoverEnv } from "../actions/contract/index.js";
import type { OperatorContext } from "../context.js";

/** How long a recorded switchover holds off failover before it counts as abandoned. */
export const SWITCHOVER_TIMEOUT_MS = 90_000;

type Marker = NonNullable<InstanceSetStatus["switchover"]>;

function setRef(set: InstanceSet) {
  return {
    apiVersion: API_VERSION,
    kind: "InstanceSet",
    namespace: set.metadata.namespace,
    name: set.metadata.name!,
  };
}

export async function setSwitchoverMarker(
  ctx: OperatorContext,
  set: InstanceSet,
  marker: Marker,
): Promise<void> {
  await updateStatus<InstanceSet>(ctx.client, setRef(set), (s) => {
    s.status = { ...s.status, switchover: marker };
  });
  set.status = { ...set.status, switchover: marker };
}

export async function clearSwitchoverMarker(ctx: OperatorContext, set: InstanceSet): Promise<void> {
  await updateStatus<InstanceSet>(ctx.client, setRef(set), (s) => {
    if (s.status) delete s.status.switchover;
  });
  if (set.status) delete set.status.switchover;
}

/** Whether a switchover recorded on the set is still within its time. */
export function switchoverInProgress(set: InstanceSet | undefined, now = Date.now()): boolean {
  const marker = set?.status?.switchover;
  return Boolean(marker && now - Date.parse(marker.startedAt) < SWITCHOVER_TIMEOUT_MS);
}

/**
 * Moves the writable role from `primary` to `candidate`: records the
 * switchover in the set's status first (the HA loop then does not fail over,
 * and adopts the candidate once it claims the role; the InstanceSet clears the
 * record when the candidate holds the writable label), runs the definition's
 * switchover action on the primary and, for operator-arbitrated engines, its
 * promote action on the candidate. Used by rolling updates and scale-in before
 * the writable instance goes, and by Switchover operations. A failure clears
 * the record, leaves a SwitchoverFailed Event and is thrown.
 */
export async function runSwitchover(
  ctx: OperatorContext,
  set: InstanceSet,
  pods: V1Pod[],
  primary: string,
  candidate: string | undefined,
): Promise<void> {
  const action = set.spec.lifecycleActions?.switchover;
  if (!action) throw new Error(`InstanceSet ${set.metadata.name} has no switchover action`);
  const roles = set.spec.roles ?? [];
  const namespace = set.metadata.namespace!;
  const startedAt = new Date().toISOString();
  await setSwitchoverMarker(ctx, set, { pod: primary, candidate, startedAt });
  const env = switchoverEnv(componentEnv(namespace, set.spec.serviceName, set), primary, candidate);
  try {
    await ctx.actions.run("switchover", action, { namespace, pods, roles, pod: primary, env });
    // Operator-arbitrated engines step down in `switchover`; the candidate is then promoted here.
    const promote = set.spec.lifecycleActions?.promote;
    if (promote && candidate) {
      await ctx.actions.run("promote", promote, { namespace, pods, roles, pod: candidate, env });
      await setSwitchoverMarker(ctx, set, {
        pod: primary,
        candidate,
        startedAt,
        promotedAt: new Date().toISOString(),
      });
    }
    await ctx.recorder.record(set, "Normal", "Switchover", `switched the writable role away from ${primary}`);
  } catch (error) {
    await clearSwitchoverMarker(ctx, set);
    await ctx.recorder.record(set, "Warning", "SwitchoverFailed", errorMessage(error));
    throw error;
  }
}
