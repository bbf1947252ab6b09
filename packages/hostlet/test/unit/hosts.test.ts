import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { renderHosts } from "../../src/network/hosts.js";

const ready = { conditions: [{ type: "Ready", status: "True" }] };
const member = (name: string, ip: string, isReady = true): V1Pod => ({
  metadata: { name, namespace: "db", uid: name, labels: { app: "pg" } },
  spec: { hostname: name, subdomain: "pg-headless", containers: [] },
  status: { podIP: ip, ...(isReady ? ready : {}) },
});

test("a pod's hosts file names itself, services, and the pods of headless services", () => {
  const self = member("pg-0", "127.1.0.1");
  const pods = [self, member("pg-1", "127.1.0.2"), member("pg-2", "127.1.0.3", false)];
  const services: V1Service[] = [
    { metadata: { name: "pg", namespace: "db" }, spec: { clusterIP: "127.96.0.5", selector: { app: "pg" } } },
    {
      metadata: { name: "pg-headless", namespace: "db" },
      spec: { clusterIP: "None", selector: { app: "pg" } },
    },
    { metadata: { name: "cache", namespace: "other" }, spec: { clusterIP: "127.96.0.6" } },
  ];
  const text = renderHosts({ pod: self, podIP: "127.1.0.1", clusterDomain: "cluster.local", services, pods });
  const lines = text.split("\n");
  assert.ok(lines.includes("127.1.0.1\tpg-0.pg-headless.db.svc.cluster.local pg-0"));
  assert.ok(lines.includes("127.96.0.5\tpg.db.svc.cluster.local pg.db.svc pg.db pg"));
  assert.ok(lines.includes("127.96.0.6\tcache.other.svc.cluster.local cache.other.svc cache.other"));
  assert.ok(
    lines.includes(
      "127.1.0.2\tpg-1.pg-headless.db.svc.cluster.local pg-1.pg-headless.db.svc pg-1.pg-headless pg-headless.db.svc.cluster.local pg-headless.db.svc pg-headless.db pg-headless",
    ),
  );
  assert.ok(!text.includes("127.1.0.3"), "pods that are not ready are not published");
});
