import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { V1ConfigMap, V1Pod } from "@kubernetes/client-node";
import { ExecTimeoutError, execInPod, waitFor } from "@tessera/kube";
import { runCommand } from "@tessera/base";
import { kubeBinDir } from "@tessera/control-plane/paths";
import { TestCluster } from "@tessera/testing";
import { hostletNode } from "../../src/testing.js";
import type { HostletProcess } from "../../src/process.js";
import { isReady, waitForPod } from "./helpers.js";

let cluster: TestCluster<HostletProcess>;
let ns: string;

before(async () => {
  cluster = await TestCluster.start({ node: hostletNode({ restartBackoffMs: 1000 }) });
  ns = await cluster.createNamespace("pods");
});

after(async () => {
  await cluster?.stop();
});

async function createPod(
  name: string,
  spec: V1Pod["spec"],
  labels: Record<string, string> = {},
): Promise<void> {
  await cluster.client.create<V1Pod>({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: ns, labels },
    spec,
  });
}

const counter = "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done";

test("kubectl exec and execInPod run commands with their output and exit codes, with and without a terminal", async () => {
  await createPod("shell", {
    containers: [{ name: "main", image: "busybox", command: ["sh", "-c", counter] }],
  });
  await waitForPod(cluster, ns, "shell", "ready", isReady);

  const plain = await cluster.kubectl([
    "exec",
    "-n",
    ns,
    "shell",
    "--",
    "sh",
    "-c",
    "echo out; echo err >&2; exit 3",
  ]);
  assert.equal(plain.code, 3);
  assert.equal(plain.stdout, "out\n");
  assert.match(plain.stderr, /err/);

  const piped = await cluster.kubectl(["exec", "-i", "-n", ns, "shell", "--", "sh", "-c", "tr a-z A-Z"], {
    input: "hello\n",
  });
  assert.equal(piped.stdout, "HELLO\n", "stdin reaches the command and its end closes it");

  const kubectl = join(kubeBinDir(), "kubectl");
  const interactive = await runCommand(
    "script",
    [
      "-qec",
      `stty cols 123 rows 45; ${kubectl} --kubeconfig ${cluster.kubeconfig} exec -it -n ${ns} shell -- sh`,
      "/dev/null",
    ],
    {
      // The window size arrives on its own channel: wait (bounded) until the shell sees it.
      input:
        'echo tty-$((6*7)); tty; i=0; until [ "$(stty size)" = "45 123" ] || [ $i -gt 100 ]; do i=$((i+1)); sleep 0.1; done; stty size; exit 7\n',
      timeoutMs: 30_000,
    },
  );
  assert.match(interactive.stdout, /tty-42/);
  assert.match(interactive.stdout, /\/dev\/pts\//, "the command runs under a terminal");
  assert.match(interactive.stdout, /^45 123\r?$/m, "the client's window size reaches the terminal");
  assert.equal(interactive.code, 7);

  const local = join(cluster.dir, "copied.txt");
  writeFileSync(local, "copied through kubectl cp\n");
  const copy = await cluster.kubectl(["cp", local, `${ns}/shell:/tmp/copied.txt`]);
  assert.equal(copy.code, 0, copy.stderr);
  const back = join(cluster.dir, "back.txt");
  assert.equal((await cluster.kubectl(["cp", `${ns}/shell:/tmp/copied.txt`, back])).code, 0);
  assert.equal(readFileSync(back, "utf8"), "copied through kubectl cp\n");

  const result = await execInPod(cluster.client, {
    namespace: ns,
    pod: "shell",
    container: "main",
    command: ["sh", "-c", "echo $HOSTNAME; echo oops >&2; exit 4"],
    timeoutMs: 20_000,
  });
  assert.deepEqual(result, { exitCode: 4, stdout: "shell\n", stderr: "oops\n" });
  const fed = await execInPod(cluster.client, {
    namespace: ns,
    pod: "shell",
    container: "main",
    command: ["head", "-c", "5"],
    stdin: "abcdefgh",
    timeoutMs: 20_000,
  });
  assert.equal(fed.stdout, "abcde", "stdin over the WebSocket channel protocol");
  await assert.rejects(
    execInPod(cluster.client, {
      namespace: ns,
      pod: "shell",
      container: "main",
      command: ["sleep", "30"],
      timeoutMs: 500,
    }),
    ExecTimeoutError,
  );
});

test("kubectl logs shows, tails and follows a container's output, and --previous the one before a restart", async () => {
  await waitForPod(cluster, ns, "shell", "ready", isReady);
  const tail = await cluster.kubectl(["logs", "-n", ns, "shell", "--tail=2"]);
  assert.equal(tail.stdout.trim().split("\n").length, 2);

  const follower = spawn(join(kubeBinDir(), "kubectl"), [
    "--kubeconfig",
    cluster.kubeconfig,
    "logs",
    "-f",
    "-n",
    ns,
    "shell",
  ]);
  let followed = "";
  follower.stdout.on("data", (chunk: Buffer) => (followed += chunk.toString()));
  try {
    const first = await waitFor(() => /line (\d+)\n/.exec(followed)?.[1], {
      description: "followed output",
      timeoutMs: 20_000,
    });
    const last = () => Number([...followed.matchAll(/line (\d+)/g)].at(-1)?.[1] ?? -1);
    await waitFor(() => last() > Number(first) + 3, {
      description: "new lines while following",
      timeoutMs: 20_000,
    });
  } finally {
    follower.kill();
  }

  const faults = await cluster.node.faults();
  await faults.killContainer(ns, "shell", "main");
  const restarted = await waitForPod(
    cluster,
    ns,
    "shell",
    "restarted",
    (p) => (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1 && isReady(p),
  );
  const lastState = restarted.status!.containerStatuses![0]!.lastState?.terminated;
  assert.equal(lastState?.exitCode, 137, "killed like kill -9");
  const previous = await cluster.kubectl(["logs", "-n", ns, "shell", "--previous"]);
  assert.equal(previous.code, 0, previous.stderr);
  assert.match(previous.stdout, /line \d+/);
});

test("a failing liveness probe restarts the container and counts the restart", async () => {
  await createPod("lively", {
    containers: [
      {
        name: "main",
        image: "busybox",
        command: ["sh", "-c", "touch /tmp/alive; exec sleep 3600"],
        livenessProbe: {
          exec: { command: ["test", "-e", "/tmp/alive"] },
          periodSeconds: 1,
          failureThreshold: 2,
        },
      },
    ],
  });
  await waitForPod(cluster, ns, "lively", "ready", isReady);
  await cluster.kubectl(["exec", "-n", ns, "lively", "--", "rm", "/tmp/alive"]);
  const pod = await waitForPod(cluster, ns, "lively", "restarted by its liveness probe", (p) => {
    const status = p.status?.containerStatuses?.[0];
    return (status?.restartCount ?? 0) >= 1 && status?.state?.running !== undefined;
  });
  assert.ok(
    pod.status!.containerStatuses![0]!.lastState?.terminated,
    "the killed container is the last state",
  );
});

test("an image the node cannot provide is reported with the image and the fix, not left hanging", async () => {
  await createPod("unknown", {
    containers: [{ name: "main", image: "registry.example.com/acme/widget:2.1" }],
  });
  const pod = await waitForPod(
    cluster,
    ns,
    "unknown",
    "image error",
    (p) => !!p.status?.containerStatuses?.[0]?.state?.waiting?.message,
  );
  const waiting = pod.status!.containerStatuses![0]!.state!.waiting!;
  assert.equal(waiting.reason, "ErrImagePull");
  assert.match(waiting.message!, /registry\.example\.com\/acme\/widget:2\.1/);
  assert.match(waiting.message!, /image catalog/);
  assert.equal(pod.status!.phase, "Pending");
});

test("a container over its memory limit is OOM-killed, and a CPU limit throttles", async () => {
  await createPod("hog", {
    restartPolicy: "Never",
    containers: [
      {
        name: "main",
        image: "busybox",
        command: ["sh", "-c", "x=$(head -c 400000000 /dev/zero | tr '\\0' a); echo survived"],
        resources: { limits: { memory: "64Mi" } },
      },
    ],
  });
  const pod = await waitForPod(
    cluster,
    ns,
    "hog",
    "terminated",
    (p) => !!p.status?.containerStatuses?.[0]?.state?.terminated,
  );
  const terminated = pod.status!.containerStatuses![0]!.state!.terminated!;
  assert.equal(terminated.reason, "OOMKilled");
  assert.equal(terminated.exitCode, 137);
  assert.equal(pod.status!.phase, "Failed");

  await createPod("spinner", {
    containers: [
      {
        name: "main",
        image: "busybox",
        command: ["sh", "-c", "while :; do :; done"],
        resources: { limits: { cpu: "100m" } },
      },
    ],
  });
  const spinner = await waitForPod(cluster, ns, "spinner", "running", (p) => p.status?.phase === "Running");
  const cgroup = join("/sys/fs/cgroup/cpu/tessera", cluster.node.nodeName, spinner.metadata!.uid!, "main");
  assert.ok(existsSync(cgroup), "cgroup v1 cpu controller is writable on this host");
  assert.equal(readFileSync(join(cgroup, "cpu.cfs_quota_us"), "utf8").trim(), "10000");
  await waitFor(
    () => Number(/nr_throttled (\d+)/.exec(readFileSync(join(cgroup, "cpu.stat"), "utf8"))?.[1]) > 5,
    {
      description: "the kernel to throttle the container",
      timeoutMs: 20_000,
    },
  );
  await cluster.client.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "spinner" });
});

test("ConfigMap and downward API volumes follow changes; env comes from fieldRefs and secrets", async () => {
  await cluster.client.create<V1ConfigMap>({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "settings", namespace: ns },
    data: { mode: "one" },
  });
  await cluster.client.create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "creds", namespace: ns },
    stringData: { password: "s3cret" },
  });
  await createPod(
    "reader",
    {
      securityContext: { runAsUser: 4321, runAsGroup: 4321, fsGroup: 4321 },
      containers: [
        {
          name: "main",
          image: "busybox",
          command: ["sh", "-c", "exec sleep 3600"],
          workingDir: "/work/dir",
          env: [
            { name: "ROLE", valueFrom: { fieldRef: { fieldPath: "metadata.labels['role']" } } },
            { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "password" } } },
          ],
          volumeMounts: [
            { name: "settings", mountPath: "/etc/settings" },
            { name: "info", mountPath: "/etc/podinfo" },
            { name: "scratch", mountPath: "/work" },
          ],
        },
      ],
      volumes: [
        { name: "settings", configMap: { name: "settings" } },
        {
          name: "info",
          downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] },
        },
        { name: "scratch", emptyDir: {} },
      ],
    },
    { role: "primary" },
  );
  await waitForPod(cluster, ns, "reader", "ready", isReady);
  const run = async (script: string) =>
    (await cluster.kubectl(["exec", "-n", ns, "reader", "--", "sh", "-c", script])).stdout;
  assert.equal(
    await run("echo $ROLE $PASSWORD; id -u; id -un; pwd; touch /work/ok && echo writable"),
    "primary s3cret\n4321\nuser4321\n/work/dir\nwritable\n",
  );
  assert.equal(await run("cat /etc/settings/mode"), "one");

  await cluster.client.patch(
    { apiVersion: "v1", kind: "Pod", namespace: ns, name: "reader" },
    { metadata: { labels: { role: "replica" } } },
    "merge",
  );
  await waitFor(async () => (await run("cat /etc/podinfo/labels")).includes('role="replica"'), {
    description: "the labels file to follow the pod",
    timeoutMs: 15_000,
  });
  await cluster.client.patch(
    { apiVersion: "v1", kind: "ConfigMap", namespace: ns, name: "settings" },
    { data: { mode: "two" } },
    "merge",
  );
  await waitFor(async () => (await run("cat /etc/settings/mode")) === "two", {
    description: "the ConfigMap volume to follow the ConfigMap",
    timeoutMs: 20_000,
  });
});

test("startup and httpGet probes gate readiness; deletion runs preStop, then SIGTERM, within the grace period", async () => {
  await createPod("exporter", {
    containers: [
      {
        name: "main",
        image: "oliver006/redis_exporter:v1.45.0",
        args: ["-web.listen-address=$(POD_IP):9121"],
        env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
        ports: [{ name: "metrics", containerPort: 9121 }],
        startupProbe: { tcpSocket: { port: "metrics" }, periodSeconds: 1, failureThreshold: 30 },
        readinessProbe: { httpGet: { path: "/metrics", port: "metrics" }, periodSeconds: 1 },
      },
    ],
  });
  const exporter = await waitForPod(cluster, ns, "exporter", "ready", isReady);
  assert.equal(exporter.status!.containerStatuses![0]!.started, true);

  const out = join(cluster.dir, "termination");
  await createPod("graceful", {
    terminationGracePeriodSeconds: 20,
    containers: [
      {
        name: "main",
        image: "busybox",
        command: ["sh", "-c", "trap 'echo term >> /out/log; exit 0' TERM; while :; do sleep 0.1; done"],
        lifecycle: { preStop: { exec: { command: ["sh", "-c", "echo prestop >> /out/log"] } } },
        volumeMounts: [{ name: "out", mountPath: "/out" }],
      },
    ],
    volumes: [{ name: "out", hostPath: { path: out, type: "DirectoryOrCreate" } }],
  });
  await waitForPod(cluster, ns, "graceful", "ready", isReady);
  await cluster.client.delete({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "graceful" });
  await waitFor(
    async () =>
      !(await cluster.client.find({ apiVersion: "v1", kind: "Pod", namespace: ns, name: "graceful" })),
    {
      description: "the pod to be gone",
      timeoutMs: 30_000,
    },
  );
  assert.equal(readFileSync(join(out, "log"), "utf8"), "prestop\nterm\n");
});

test("changing a container's image in place restarts it with the new definition", async () => {
  await createPod("inplace", {
    restartPolicy: "Never",
    containers: [{ name: "main", image: "busybox:1.36", command: ["sh", "-c", "exec sleep 3600"] }],
  });
  await waitForPod(cluster, ns, "inplace", "ready", isReady);
  await cluster.client.patch(
    { apiVersion: "v1", kind: "Pod", namespace: ns, name: "inplace" },
    { spec: { containers: [{ name: "main", image: "debian:12" }] } },
    "strategic",
  );
  const pod = await waitForPod(cluster, ns, "inplace", "restarted with the new image", (p) => {
    const status = p.status?.containerStatuses?.[0];
    return isReady(p) && status?.image === "debian:12" && status.restartCount === 1;
  });
  assert.equal(pod.status!.phase, "Running", "restarted even under restartPolicy Never");
});
