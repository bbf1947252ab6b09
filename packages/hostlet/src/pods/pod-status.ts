import type { V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from "@kubernetes/client-node";
import { now, toApiState, type ContainerState, type Terminated } from "./container-state.js";

/** What the status needs to know about one container. */
export interface ContainerView {
  name: string;
  image: string;
  imageID: string;
  init: boolean;
  state: ContainerState;
  lastTerminated?: Terminated;
  restartCount: number;
  /** The startup probe passed (or there is none). */
  started: boolean;
  /** The readiness probe passes (or there is none). */
  ready: boolean;
  /** Set once the container has a process. */
  containerID?: string;
}

export interface PodStatusInput {
  pod: V1Pod;
  containers: ContainerView[];
  hostIP: string;
  podIP?: string;
  startTime: string;
  /** Why the pod's volumes or sandbox cannot be set up yet. */
  prepareError?: string;
}

const succeeded = (c: ContainerView) => c.state.kind === "terminated" && c.state.exitCode === 0;
const isReady = (c: ContainerView) => c.state.kind === "running" && c.started && c.ready;

/** The pod phase, conditions and container statuses, as the kubelet reports them. */
export function computePodStatus(input: PodStatusInput): V1PodStatus {
  const inits = input.containers.filter((c) => c.init);
  const mains = input.containers.filter((c) => !c.init);
  const policy = input.pod.spec?.restartPolicy ?? "Always";
  const initialized = inits.every(succeeded);
  const initFailed =
    policy === "Never" && inits.some((c) => c.state.kind === "terminated" && c.state.exitCode !== 0);
  const containersReady = mains.every(isReady);
  const willRestart = (c: ContainerView) =>
    c.state.kind !== "terminated" ||
    policy === "Always" ||
    (policy === "OnFailure" && c.state.exitCode !== 0);
  let phase: string;
  if (initFailed) phase = "Failed";
  else if (!initialized) phase = "Pending";
  else if (mains.every((c) => c.state.kind === "terminated") && !mains.some(willRestart)) {
    phase = mains.every(succeeded) ? "Succeeded" : "Failed";
  } else if (mains.some((c) => c.state.kind !== "waiting" || c.lastTerminated)) phase = "Running";
  else phase = "Pending";

  const previous = new Map((input.pod.status?.conditions ?? []).map((c) => [c.type, c]));
  const condition = (type: string, ok: boolean, reason: string, message: string): V1PodCondition => {
    const status = ok ? "True" : "False";
    const before = previous.get(type);
    const lastTransitionTime = (before?.status === status ? before.lastTransitionTime : now()) as Date;
    return { type, status, lastTransitionTime, ...(ok ? {} : { reason, message }) };
  };
  const names = (list: ContainerView[]) => list.map((c) => c.name).join(" ");
  const unready = `containers with unready status: [${names(mains.filter((c) => !isReady(c)))}]`;
  const conditions: V1PodCondition[] = [
    condition(
      "Initialized",
      initialized,
      "ContainersNotInitialized",
      `containers with incomplete status: [${names(inits.filter((c) => !succeeded(c)))}]`,
    ),
    condition("Ready", containersReady && phase === "Running", "ContainersNotReady", unready),
    condition("ContainersReady", containersReady, "ContainersNotReady", unready),
    previous.get("PodScheduled") ?? condition("PodScheduled", true, "", ""),
  ];
  const toStatus = (c: ContainerView): V1ContainerStatus => {
    let state = toApiState(c.state);
    if (input.prepareError && state.waiting)
      state = { waiting: { reason: "ContainerCreating", message: input.prepareError } };
    return {
      name: c.name,
      image: c.image,
      imageID: c.imageID,
      ready: isReady(c),
      started: c.state.kind === "running" && c.started,
      restartCount: c.restartCount,
      state,
      lastState: toApiState(c.lastTerminated),
      ...(c.containerID ? { containerID: c.containerID } : {}),
    };
  };
  return {
    phase,
    conditions,
    hostIP: input.hostIP,
    startTime: input.startTime as unknown as Date,
    containerStatuses: mains.map(toStatus),
    ...(inits.length > 0 ? { initContainerStatuses: inits.map(toStatus) } : {}),
    ...(input.podIP ? { podIP: input.podIP, podIPs: [{ ip: input.podIP }] } : {}),
  };
}
