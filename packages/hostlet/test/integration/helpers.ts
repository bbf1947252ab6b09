import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { waitFor, type KubeClient } from "@tessera/kube";
import { runCommand, type CommandResult } from "@tessera/base";
import type { TestCluster } from "@tessera/testing";
import type { HostletProcess } from "../../src/process.js";

export async function getPod(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<V1Pod | undefined> {
  return client.find<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace, name });
}

/** Waits until `check` holds for the pod; on timeout the error shows the pod's status and the hostlet log. */
export async function waitForPod(
  cluster: TestCluster<HostletProcess>,
  namespace: string,
  name: string,
  description: string,
  check: (pod: V1Pod) => boolean,
  timeoutMs = 60_000,
): Promise<V1Pod> {
  let last: V1Pod | undefined;
  return waitFor(
    async () => {
      last = await getPod(cluster.client, namespace, name);
      return last && check(last) ? last : undefined;
    },
    { description: `pod ${name}: ${description}`, timeoutMs, intervalMs: 200 },
  ).catch((error: Error) => {
    error.message += `\nstatus: ${JSON.stringify(last?.status, null, 1)}\nhostlet log:\n${cluster.node.logTail(15)}`;
    throw error;
  });
}

export const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

export function podIPEnv(): V1Container["env"] {
  return [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }];
}

/** A Redis server bound to its pod IP, as every server on a hostlet node must be. */
export function redisContainer(extra: Partial<V1Container> = {}): V1Container {
  return {
    name: "redis",
    image: "redis:7",
    command: [
      "redis-server",
      "--bind",
      "$(POD_IP)",
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "no",
    ],
    env: podIPEnv(),
    ports: [{ name: "redis", containerPort: 6379 }],
    readinessProbe: { tcpSocket: { port: "redis" }, periodSeconds: 1 },
    ...extra,
  };
}

export function redisCli(host: string, args: string[], port = 6379): Promise<CommandResult> {
  return runCommand("redis-cli", ["-h", host, "-p", String(port), ...args], { timeoutMs: 10_000 });
}
