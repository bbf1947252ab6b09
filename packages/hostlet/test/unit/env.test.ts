import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { expandCommand, resolveEnvironment, type EnvContext } from "../../src/pods/env.js";

const pod: V1Pod = {
  metadata: {
    name: "db-0",
    namespace: "ns",
    uid: "u-1",
    labels: { role: "primary" },
    annotations: { a: "1" },
  },
  spec: {
    nodeName: "node-a",
    containers: [
      {
        name: "main",
        image: "redis:7",
        resources: { limits: { memory: "256Mi" }, requests: { cpu: "250m" } },
        envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }],
        env: [
          { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "ROLE", valueFrom: { fieldRef: { fieldPath: "metadata.labels['role']" } } },
          { name: "URL", value: "redis://$(POD_IP):6379/$(CFG_db)" },
          { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
          { name: "MEM_MI", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
          { name: "CPU", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
          { name: "MODE", valueFrom: { configMapKeyRef: { name: "cfg", key: "mode" } } },
        ],
      },
    ],
  },
};

const context: EnvContext = {
  podIP: "127.1.0.7",
  hostIP: "127.0.0.1",
  nodeAllocatable: { cpu: 2, memory: 8 * 2 ** 30 },
  getConfigMap: async (_ns, name) => (name === "cfg" ? { data: { db: "0", mode: "fast" } } : undefined),
  getSecret: async (_ns, name) =>
    name === "creds" ? { data: { password: Buffer.from("s3cret").toString("base64") } } : undefined,
  services: [
    {
      metadata: { name: "redis-main", namespace: "ns" },
      spec: { clusterIP: "127.96.0.9", ports: [{ name: "redis", port: 6379 }] },
    },
    {
      metadata: { name: "other", namespace: "elsewhere" },
      spec: { clusterIP: "127.96.0.10", ports: [{ port: 1 }] },
    },
  ],
};

test("env resolves fieldRef, secrets, configmaps, envFrom, resources and $(VAR) references", async () => {
  const env = await resolveEnvironment(pod, pod.spec!.containers[0]!, context);
  assert.equal(env.POD_IP, "127.1.0.7");
  assert.equal(env.ROLE, "primary");
  assert.equal(env.URL, "redis://127.1.0.7:6379/0");
  assert.equal(env.PASSWORD, "s3cret");
  assert.equal(env.MEM_MI, "256");
  assert.equal(env.CPU, "2", "no cpu limit: node allocatable, rounded up to whole cores");
  assert.equal(env.MODE, "fast");
  assert.equal(env.CFG_db, "0");
  assert.equal(env.REDIS_MAIN_SERVICE_HOST, "127.96.0.9");
  assert.equal(env.REDIS_MAIN_SERVICE_PORT_REDIS, "6379");
  assert.equal(env.OTHER_SERVICE_HOST, undefined, "only services of the pod's namespace");
  assert.deepEqual(expandCommand(["redis-server", "--bind", "$(POD_IP)"], env), [
    "redis-server",
    "--bind",
    "127.1.0.7",
  ]);
});

test("a missing secret fails with CreateContainerConfigError unless optional", async () => {
  const container = {
    name: "c",
    env: [{ name: "X", valueFrom: { secretKeyRef: { name: "nope", key: "k" } } }],
  };
  await assert.rejects(resolveEnvironment(pod, container, context), /secret key k in "nope" not found/);
  const optional = {
    name: "c",
    env: [{ name: "X", valueFrom: { secretKeyRef: { name: "nope", key: "k", optional: true } } }],
  };
  assert.equal((await resolveEnvironment(pod, optional, context)).X, undefined);
});

// A regression (reads one after another) never completes: the timeout turns that into a failure.
test(
  "env fetches every referenced ConfigMap and Secret side by side, each once",
  { timeout: 10_000 },
  async () => {
    const requested: string[] = [];
    const pending: (() => void)[] = [];
    // A read completes only once both objects the container names are asked for.
    const read = <T>(kind: string, name: string, value: T) =>
      new Promise<T>((resolve) => {
        requested.push(`${kind}/${name}`);
        pending.push(() => resolve(value));
        if (pending.length === 2) for (const done of pending) done();
      });
    const env = await resolveEnvironment(pod, pod.spec!.containers[0]!, {
      ...context,
      getConfigMap: (_ns, name) => read("configmap", name, { data: { db: "0", mode: "fast" } }),
      getSecret: (_ns, name) =>
        read("secret", name, { data: { password: Buffer.from("s3cret").toString("base64") } }),
    });
    assert.equal(env.PASSWORD, "s3cret");
    assert.equal(env.MODE, "fast");
    assert.deepEqual(requested.sort(), ["configmap/cfg", "secret/creds"]);
  },
);
