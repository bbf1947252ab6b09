import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1PodSpec } from "@kubernetes/client-node";
import {
  PROBE_AGENT_CONTAINER,
  PROBE_AGENT_PORT_NAME,
  parseAgentReport,
  withProbeAgent,
} from "../../src/component/probe-agent.js";

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

test("the probed container runs its command behind the report loop, and a sidecar serves the report", () => {
  const out = withProbeAgent(spec(), probe);
  const db = out.containers.find((c) => c.name === "db")!;
  assert.deepEqual(db.command?.slice(0, 2), ["sh", "-c"]);
  assert.deepEqual(db.args, ["sh", "/scripts/start.sh", "--fast"], "the original command and args follow");
  const env = Object.fromEntries((db.env ?? []).map((e) => [e.name, e.value]));
  assert.equal(env.TESSERA_ROLE_PROBE, `'env' 'MODE=x y' 'sh' '/scripts/role probe.sh'`);
  assert.equal(env.TESSERA_ROLE_PROBE_PERIOD, "2");
  const server = out.containers.find((c) => c.name === PROBE_AGENT_CONTAINER)!;
  assert.equal(server.ports?.[0]?.name, PROBE_AGENT_PORT_NAME);
  assert.ok(server.volumeMounts?.[0]?.readOnly);
  assert.equal(out.containers.find((c) => c.name === "exporter")?.command, undefined, "others are untouched");
  assert.equal(out.volumes?.length, 2);
});

test("a probe without exec, or a container without a command of its own, is left to pods/exec", () => {
  assert.deepEqual(withProbeAgent(spec(), undefined), spec());
  assert.deepEqual(
    withProbeAgent(spec(), { ...probe, exec: { command: ["true"], container: "exporter" } }),
    spec(),
  );
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
