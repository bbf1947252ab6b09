import type { V1Pod } from "@kubernetes/client-node";
import { annotations } from "@tessera/api";

/** The epoch a replica follows; NaN once detached (it follows no one), undefined if never recorded. */
export function followedEpoch(pod: V1Pod): number | undefined {
  const value = pod.metadata?.annotations?.[annotations.followsEpoch];
  return value === undefined ? undefined : Number(value);
}
