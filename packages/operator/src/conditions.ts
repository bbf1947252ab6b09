import type { Condition } from "@tessera/api";
import { rfc3339 } from "./time.js";

export interface ConditionInput {
  type: string;
  status: boolean | "Unknown";
  reason: string;
  message: string;
}

/**
 * Returns the condition list with `input` set. The transition time only
 * moves when the status changes, as Kubernetes conventions require.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  input: ConditionInput,
  observedGeneration?: number,
): Condition[] {
  const status = input.status === "Unknown" ? "Unknown" : input.status ? "True" : "False";
  const list = conditions ?? [];
  const existing = list.find((c) => c.type === input.type);
  const next: Condition = {
    type: input.type,
    status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime: existing && existing.status === status ? existing.lastTransitionTime : rfc3339(),
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  return [...list.filter((c) => c.type !== input.type), next].sort((a, b) => a.type.localeCompare(b.type));
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
