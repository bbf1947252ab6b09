import { test } from "node:test";
import assert from "node:assert/strict";
import { clusterSpec, type ClusterSpec } from "@tessera/api";
import { clusterUsage, formatBytes, formatCpu, quotaLimit, usageStatus } from "../../src/tenant/usage.js";

const GI = 1024 ** 3;
const MI = 1024 ** 2;

function spec(componentSpecs: unknown[]): ClusterSpec {
  return clusterSpec.parse({ componentSpecs });
}

const claim = (name: string, storage: string) => ({
  name,
  spec: { resources: { requests: { storage } } },
});

test("a cluster's usage: per instance, the request (else the limit) and its volumes", () => {
  const usage = clusterUsage(
    spec([
      {
        name: "db",
        replicas: 3,
        resources: { requests: { cpu: "500m" }, limits: { cpu: "1", memory: "1Gi" } },
        volumeClaimTemplates: [claim("data", "10Gi"), claim("log", "1Gi")],
      },
      { name: "proxy", replicas: 2, resources: { limits: { cpu: "250m", memory: "128Mi" } } },
    ]),
  );
  assert.deepEqual(usage, {
    clusters: 1,
    instances: 5,
    cpu: 3 * 500 + 2 * 250,
    memory: 3 * GI + 2 * 128 * MI,
    storage: 3 * 11 * GI,
  });
});

test("instance templates take their own resources and claims; the component's rest take the component's", () => {
  const usage = clusterUsage(
    spec([
      {
        name: "db",
        replicas: 3,
        resources: { limits: { cpu: "1", memory: "1Gi" } },
        volumeClaimTemplates: [claim("data", "10Gi")],
        instances: [
          {
            name: "big",
            replicas: 1,
            resources: { limits: { cpu: "4", memory: "8Gi" } },
            volumeClaimTemplates: [claim("data", "100Gi")],
          },
        ],
      },
    ]),
  );
  assert.equal(usage.instances, 3);
  assert.equal(usage.cpu, 2 * 1000 + 4000);
  assert.equal(usage.memory, 2 * GI + 8 * GI);
  assert.equal(usage.storage, 2 * 10 * GI + 100 * GI);
});

test("a stopped cluster still counts: starting it again asks for nothing", () => {
  const usage = clusterUsage(
    spec([{ name: "db", replicas: 2, stop: true, resources: { limits: { memory: "1Gi" } } }]),
  );
  assert.equal(usage.instances, 2);
  assert.equal(usage.memory, 2 * GI);
});

test("CPU adds up exactly: three 100m instances fit a 300m quota", () => {
  const usage = clusterUsage(spec([{ name: "db", replicas: 3, resources: { requests: { cpu: "100m" } } }]));
  assert.equal(usage.cpu, quotaLimit({ cpu: "300m" }, "cpu"));
  assert.equal(quotaLimit({ cpu: "0.3" }, "cpu"), 300);
});

test("usage is shown in quota units", () => {
  assert.equal(formatBytes(0), "0");
  assert.equal(formatBytes(1536 * MI), "1536Mi");
  assert.equal(formatBytes(2 * GI), "2Gi");
  assert.equal(formatBytes(1000), "1000");
  assert.equal(formatCpu(1500), "1500m");
  assert.equal(formatCpu(2000), "2");
  assert.deepEqual(usageStatus({ cpu: 250, memory: 512 * MI, storage: 3 * GI, clusters: 2, instances: 4 }), {
    cpu: "250m",
    memory: "512Mi",
    storage: "3Gi",
    clusters: 2,
    instances: 4,
  });
});
