import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1PodSpec } from "@kubernetes/client-node";
import {
  AGENT_INSTALLER,
  AGENT_PORT_NAME,
  agentEndpoint,
  parseAgentReport,
  withAgent,
} from "../../src/component/agent.js";

const spec = (): V1PodSpec => ({
  containers: [
    { name: "db", image: "db:1", command: ["sh", "/scripts/start.sh"], args: ["--fast"] },
    { name: "exporter", image: "exporter:1" },
  ],
  volumes: [{ name: "data", emptyDir: {} }],
});

const probe = {
  exec: { container: "db", command: ["sh", "/scripts/role probe.sh"], env: [{ name: "MODE", value: "x y" }] },
  periodSeconds: 2,
  timeoutSeconds: 2,
  failureThreshold: 3,
};

test("the probed container runs its command behind the agent, and an init container installs the agent's server", () => {
  const out = withAgent(spec(), probe, "demo-db");
  const db = out.containers.find((c) => c.name === "db")!;
  assert.deepEqual(db.command?.slice(0, 2), ["sh", "-c"]);
  assert.deepEqual(db.args, ["sh", "/scripts/start.sh", "--fast"], "the original command and args follow");
  const env = Object.fromEntries((db.env ?? []).map((e) => [e.name, e.value]));
  assert.equal(env.TESSERA_ROLE_PROBE, `env 'MODE=x y' sh '/scripts/role probe.sh'`);
  assert.equal(env.TESSERA_ROLE_PROBE_PERIOD, "2");
  assert.equal(db.ports?.[0]?.name, AGENT_PORT_NAME, "the database container serves the agent");
  const token = db.env?.find((e) => e.name === "TESSERA_AGENT_TOKEN")?.valueFrom?.secretKeyRef;
  assert.deepEqual(
    token,
    { name: "demo-db-agent", key: "token" },
    "the token comes from the component's Secret",
  );
  assert.deepEqual(
    out.containers.map((c) => c.name),
    ["db", "exporter"],
    "no sidecar: the server shares the database's CPU",
  );
  assert.deepEqual(
    out.initContainers?.map((c) => c.name),
    [AGENT_INSTALLER],
  );
  assert.equal(out.containers.find((c) => c.name === "exporter")?.command, undefined, "others are untouched");
  assert.equal(out.volumes?.length, 2);
});

test("a probe without exec, or a container without a command of its own, is left to pods/exec", () => {
  assert.deepEqual(withAgent(spec(), undefined, "demo-db"), spec());
  assert.deepEqual(
    withAgent(spec(), { ...probe, exec: { command: ["true"], container: "exporter" } }, "demo-db"),
    spec(),
  );
});

test("a pod's agent endpoint names the wrapped container, the port and the token's Secret", () => {
  const pod = { spec: withAgent(spec(), probe, "demo-db"), status: { podIP: "10.0.0.7" } };
  assert.deepEqual(agentEndpoint(pod), {
    ip: "10.0.0.7",
    port: 9901,
    container: "db",
    secret: "demo-db-agent",
  });
  assert.equal(agentEndpoint({ spec: spec(), status: { podIP: "10.0.0.7" } }), undefined, "no agent");
  assert.equal(agentEndpoint({ spec: pod.spec, status: {} }), undefined, "no IP yet");
});

test("reports parse as sequence, exit code and output", () => {
  assert.deepEqual(parseAgentReport("12 0 primary 4096\n"), {
    sequence: 12,
    code: 0,
    output: "primary 4096",
  });
  assert.deepEqual(parseAgentReport("3 2 \n"), { sequence: 3, code: 2, output: "" });
  assert.equal(parseAgentReport("<html>not found</html>"), undefined);
});
