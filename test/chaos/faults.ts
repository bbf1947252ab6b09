import { setTimeout as delay } from "node:timers/promises";
import type { V1Lease } from "@kubernetes/client-node";
import { OPERATOR_LEASE, OPERATOR_NAMESPACE } from "@tessera/api";
import type { FaultClient } from "@tessera/hostlet";
import { waitFor } from "@tessera/kube";
import type { TestPlatform } from "../support/platform.js";
import type { ClusterHandle, EngineDescriptor, Instance } from "../conformance/harness.js";

export interface FaultContext {
  platform: TestPlatform;
  cluster: ClusterHandle;
  engine: EngineDescriptor;
  faults: FaultClient;
  /** The instance the fault hits. */
  target: Instance;
}

export interface Fault {
  /** As in `--faults`. */
  name: string;
  /** The instance it hits: the one holding the writable role, or a replica. */
  target: "writable" | "replica";
  description: string;
  /** Injects the fault and, for a fault that lasts, holds it and heals it; resolves once healed. */
  inject(context: FaultContext): Promise<void>;
}

/** How long a frozen instance stays frozen: longer than failover takes to notice it. */
const FREEZE_MS = 15_000;
/** How long an isolated instance stays cut off. */
const ISOLATE_MS = 20_000;

/** Holds a fault for its duration; the time is the fault itself, not a wait for a condition. */
async function hold(ms: number, heal: () => Promise<unknown>): Promise<void> {
  try {
    await delay(ms);
  } finally {
    await heal();
  }
}

/** Waits until the target lost the writable role label: the failover has begun. */
async function failoverBegun({ cluster, engine, target }: FaultContext): Promise<void> {
  await waitFor(
    async () =>
      !(await cluster.instances(engine.component)).some(
        (i) => i.name === target.name && i.role === engine.writableRole,
      ),
    { description: `${target.name} to lose the ${engine.writableRole} role label`, timeoutMs: 60_000 },
  );
}

type FaultSpec = Omit<Fault, "target">;

/** The same fault, on the writable instance (`name`) and on a replica (`replica-<name>`). */
function onEither(spec: FaultSpec): Fault[] {
  return [
    { ...spec, target: "writable" },
    { ...spec, name: `replica-${spec.name}`, target: "replica" },
  ];
}

const kill = (context: FaultContext) =>
  context.faults.killContainer(context.cluster.namespace, context.target.name, context.engine.container);

/**
 * Stops and starts the kube-apiserver. An operator that cannot renew its
 * lease in time exits for a fresh process to campaign again, which its
 * Deployment would start: here the fault plays that supervisor.
 */
async function restartApiserver(platform: TestPlatform): Promise<void> {
  await platform.cluster.plane.stopApiserver();
  await platform.cluster.plane.startApiserver();
  const back = Date.now();
  const renewed = async () => {
    const lease = await platform.client.get<V1Lease>({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: OPERATOR_NAMESPACE,
      name: OPERATOR_LEASE,
    });
    return new Date(lease.spec?.renewTime ?? 0).getTime() > back;
  };
  await waitFor(async () => !platform.operator.running || (await renewed()), {
    description: "the operator to renew its lease or exit",
    timeoutMs: 60_000,
  });
  if (!platform.operator.running) await platform.operator.restart();
}

/** Kills the writable instance's servers and, once its failover has begun, disrupts the platform. */
function duringFailover(
  name: string,
  what: string,
  disrupt: (platform: TestPlatform) => Promise<void>,
): Fault {
  return {
    name,
    target: "writable",
    description: `its server processes are killed and, once failover has begun, ${what}`,
    inject: async (context) => {
      await kill(context);
      await failoverBegun(context);
      await disrupt(context.platform);
    },
  };
}

export const FAULTS: Fault[] = [
  ...onEither({
    name: "kill",
    description: "its server processes are killed (SIGKILL)",
    inject: async (context) => void (await kill(context)),
  }),
  ...onEither({
    name: "delete",
    description: "its pod is force-deleted (grace period 0)",
    inject: async ({ platform, cluster, target }) =>
      void (await platform.client.delete(
        { apiVersion: "v1", kind: "Pod", namespace: cluster.namespace, name: target.name },
        { gracePeriodSeconds: 0 },
      )),
  }),
  ...onEither({
    name: "freeze",
    description: `it is frozen for ${FREEZE_MS / 1000} s, then thawed`,
    inject: async ({ faults, cluster, target }) => {
      await faults.freeze(cluster.namespace, target.name);
      await hold(FREEZE_MS, () => faults.thaw(cluster.namespace, target.name));
    },
  }),
  ...onEither({
    name: "isolate",
    description: `it is cut off the network for ${ISOLATE_MS / 1000} s (its kubelet API still answers), then healed`,
    inject: async ({ faults, cluster, target }) => {
      await faults.isolate(cluster.namespace, target.name);
      await hold(ISOLATE_MS, () => faults.restore(cluster.namespace, target.name));
    },
  }),
  ...onEither({
    name: "isolate-kubelet",
    description: `it is cut off the network and its kubelet API refused for ${ISOLATE_MS / 1000} s, then healed`,
    inject: async ({ faults, cluster, target }) => {
      await faults.isolate(cluster.namespace, target.name, { refuseKubeletApi: true });
      await hold(ISOLATE_MS, () => faults.restore(cluster.namespace, target.name));
    },
  }),
  duringFailover("operator-kill", "the operator is killed and started again", async (platform) => {
    await platform.operator.kill();
    await platform.operator.restart();
  }),
  duringFailover("apiserver-restart", "the kube-apiserver is restarted", restartApiserver),
];

export function faultNamed(name: string): Fault {
  const fault = FAULTS.find((f) => f.name === name);
  if (!fault) throw new Error(`no fault ${name}; known: ${FAULTS.map((f) => f.name).join(", ")}`);
  return fault;
}
