import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { SPDY3_DICTIONARY } from "../../src/kubelet/spdy-dictionary.js";
import { exitStatus } from "../../src/kubelet/exec-status.js";
import { renderIsolationRules, renderServiceRules } from "../../src/network/iptables.js";
import { computeServiceRoutes } from "../../src/network/endpoints.js";

test("the SPDY/3 header dictionary is byte-exact", () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.equal(
    createHash("sha256").update(SPDY3_DICTIONARY).digest("hex"),
    "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02",
  );
});

test("exit codes travel as a Status with an ExitCode cause", () => {
  assert.deepEqual(exitStatus(["true"], 0), { metadata: {}, status: "Success" });
  const failed = exitStatus(["sh", "-c", "exit 3"], 3);
  assert.equal(failed.reason, "NonZeroExitCode");
  assert.deepEqual(failed.details?.causes, [{ reason: "ExitCode", message: "3" }]);
});

test("services route to ready selected pods, named target ports resolve per pod", () => {
  const pod = (name: string, ip: string, ready: boolean, role: string) => ({
    metadata: { name, namespace: "ns", labels: { app: "r", role } },
    spec: { containers: [{ name: "c", ports: [{ name: "redis", containerPort: 6379 }] }] },
    status: { podIP: ip, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] },
  });
  const routes = computeServiceRoutes(
    [
      {
        metadata: { name: "all", namespace: "ns" },
        spec: {
          clusterIP: "127.96.0.1",
          selector: { app: "r" },
          ports: [{ port: 6379, targetPort: "redis" }],
        },
      },
      {
        metadata: { name: "primary", namespace: "ns" },
        spec: { clusterIP: "127.96.0.2", selector: { role: "primary" }, ports: [{ port: 6379 }] },
      },
    ],
    [
      pod("a", "127.1.0.1", true, "primary"),
      pod("b", "127.1.0.2", true, "replica"),
      pod("c", "127.1.0.3", false, "replica"),
    ],
  );
  assert.deepEqual(
    routes.map((r) => [r.name, r.endpoints.map((e) => `${e.ip}:${e.port}`)]),
    [
      ["ns/all:6379", ["127.1.0.1:6379", "127.1.0.2:6379"]],
      ["ns/primary:6379", ["127.1.0.1:6379"]],
    ],
  );
  const rules = renderServiceRules("TSR-SVC-x", routes);
  assert.equal(rules.length, 3);
  assert.match(rules[0]!, /--probability 0\.5000000000 .*--to-destination 127\.1\.0\.1:6379/);
  assert.doesNotMatch(rules[1]!, /probability/);
});

test("isolation refuses traffic to the pod and from its cgroup, but lets the hostlet's probes through", () => {
  const rules = renderIsolationRules(
    "TSR-ISO-x",
    [{ ip: "127.1.0.5", cgroupPath: "tessera/n/uid" }],
    "tessera/n/hostlet",
  );
  assert.match(rules[0]!, /-m cgroup --path tessera\/n\/hostlet -j CONNMARK/);
  assert.ok(
    rules.some((r) =>
      r.includes("-m cgroup --path tessera/n/uid -m conntrack --ctorigdst 127.1.0.5/32 -j RETURN"),
    ),
  );
  assert.ok(rules.some((r) => r.includes("-d 127.1.0.5/32 -p tcp -j REJECT --reject-with tcp-reset")));
  assert.deepEqual(renderIsolationRules("TSR-ISO-x", []), []);
});
