import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerCommand, containerEnvironment, containerLimits } from "../../src/pods/container-launch.js";
import { ContainerLogs } from "../../src/pods/container-logs.js";
import { containerUser } from "../../src/pods/container-user.js";

const redis = {
  images: ["redis:7*"],
  package: "redis-server",
  command: ["redis-server"],
  args: ["--save", ""],
};

test("command and args follow Docker's rules for image defaults", () => {
  const env = { POD_IP: "127.1.0.4" };
  assert.deepEqual(containerCommand({ name: "c" }, redis, env), ["redis-server", "--save", ""]);
  assert.deepEqual(containerCommand({ name: "c", args: ["--bind", "$(POD_IP)"] }, redis, env), [
    "redis-server",
    "--bind",
    "127.1.0.4",
  ]);
  assert.deepEqual(
    containerCommand({ name: "c", command: ["sh", "-c"], args: ["echo $(POD_IP)"] }, redis, env),
    ["sh", "-c", "echo 127.1.0.4"],
  );
});

test("the environment layers PATH, the apiserver service, image variables and the container's own", () => {
  const env = containerEnvironment(
    {
      images: [],
      package: "postgresql-15",
      path: ["/usr/lib/postgresql/15/bin"],
      env: { PGDATA: "/image", KEEP: "1" },
    },
    "db-0",
    [{ metadata: { namespace: "default", name: "kubernetes" }, spec: { clusterIP: "127.96.0.1" } }],
    { PGDATA: "/data" },
  );
  assert.ok(env.PATH!.startsWith("/usr/lib/postgresql/15/bin:"));
  assert.equal(env.HOSTNAME, "db-0");
  assert.equal(env.KUBERNETES_SERVICE_HOST, "127.96.0.1");
  assert.equal(env.PGDATA, "/data", "the container's env wins over the image's");
  assert.equal(env.KEEP, "1");
});

test("limits and users come from resources and security contexts", () => {
  assert.deepEqual(
    containerLimits({
      name: "c",
      resources: { limits: { memory: "1Gi", cpu: "1500m" }, requests: { cpu: "100m" } },
    }),
    {
      memoryBytes: 2 ** 30,
      cpuMillis: 1500,
      cpuRequestMillis: 100,
    },
  );
  const pod = {
    spec: { containers: [], securityContext: { runAsUser: 999, fsGroup: 2000, supplementalGroups: [3000] } },
  };
  assert.deepEqual(containerUser(pod, { name: "c", securityContext: { runAsGroup: 5 } }), {
    uid: 999,
    gid: 5,
    groups: [2000, 3000],
  });
  assert.equal(containerUser({ spec: { containers: [] } }, { name: "c" }), undefined);
});

test("container logs keep the current and the previous run", () => {
  const dir = mkdtempSync(join(tmpdir(), "logs-"));
  try {
    const logs = new ContainerLogs(dir);
    for (let run = 0; run < 3; run++) writeFileSync(logs.forRun("main", run), `run ${run}\n`);
    writeFileSync(logs.forRun("main", 3), "a\nb\nc\n");
    assert.deepEqual(logs.files("main", 3), {
      current: join(dir, "logs/main/3.log"),
      previous: join(dir, "logs/main/2.log"),
    });
    assert.deepEqual(
      logs.files("main", 1),
      { current: undefined, previous: undefined },
      "older runs are gone",
    );
    assert.equal(logs.tail("main", 3, 2), "c\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
