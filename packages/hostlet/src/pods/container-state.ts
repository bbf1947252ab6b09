import type { V1ContainerState, V1ContainerStateTerminated } from "@kubernetes/client-node";

export type ContainerState =
  | { kind: "waiting"; reason: string; message?: string }
  | { kind: "running"; startedAt: string }
  | {
      kind: "terminated";
      exitCode: number;
      reason: string;
      message?: string;
      startedAt?: string;
      finishedAt: string;
      signal?: number;
    };

export type Terminated = Extract<ContainerState, { kind: "terminated" }>;

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function toApiState(state: ContainerState | undefined): V1ContainerState {
  if (!state) return {};
  switch (state.kind) {
    case "waiting":
      return { waiting: { reason: state.reason, ...(state.message ? { message: state.message } : {}) } };
    case "running":
      return { running: { startedAt: state.startedAt as unknown as Date } };
    case "terminated": {
      const terminated: V1ContainerStateTerminated = {
        exitCode: state.exitCode,
        reason: state.reason,
        finishedAt: state.finishedAt as unknown as Date,
      };
      if (state.startedAt) terminated.startedAt = state.startedAt as unknown as Date;
      if (state.message) terminated.message = state.message;
      if (state.signal) terminated.signal = state.signal;
      return { terminated };
    }
  }
}

export function fromApiTerminated(state: V1ContainerState | undefined): Terminated | undefined {
  const t = state?.terminated;
  if (!t) return undefined;
  return {
    kind: "terminated",
    exitCode: t.exitCode,
    reason: t.reason ?? "Error",
    message: t.message,
    startedAt: t.startedAt ? String(t.startedAt) : undefined,
    finishedAt: t.finishedAt ? String(t.finishedAt) : now(),
  };
}
