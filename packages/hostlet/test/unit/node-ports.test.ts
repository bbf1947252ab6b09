import { test } from "node:test";
import assert from "node:assert/strict";
import { computeServiceRoutes } from "../../src/network/endpoints.js";
import { NODE_ADDRESS, nodePortRoutes } from "../../src/network/service-router.js";

test("each node port of a NodePort or LoadBalancer service is a route on the node's address to the same endpoints", () => {
  const pod = {
    metadata: { name: "a", namespace: "ns", labels: { role: "primary" } },
    spec: { containers: [{ name: "c" }] },
    status: { podIP: "127.1.0.1", conditions: [{ type: "Ready", status: "True" }] },
  };
  const service = (name: string, type: string, nodePort?: number) => ({
    metadata: { name, namespace: "ns" },
    spec: {
      type,
      clusterIP: `127.96.0.${nodePort ? 1 : 2}`,
      selector: { role: "primary" },
      ports: [{ port: 7000, ...(nodePort ? { nodePort } : {}) }],
    },
  });
  const routes = computeServiceRoutes(
    [service("ext", "NodePort", 31234), service("internal", "ClusterIP")],
    [pod],
  );
  assert.deepEqual(nodePortRoutes(routes), [
    {
      name: "ns/ext:7000 (node port)",
      clusterIP: NODE_ADDRESS,
      port: 31234,
      protocol: "TCP",
      endpoints: [{ ip: "127.1.0.1", port: 7000 }],
    },
  ]);
});
