import type { V1Container, V1PodSpec } from "@kubernetes/client-node";
import type { ProbeAction } from "@tessera/api";
import { shellQuote } from "../actions/runner.js";

/** The sidecar that serves the probe agent's reports over the pod network. */
export const PROBE_AGENT_CONTAINER = "tessera-probe-agent";
/** Its port, named after it; the HA loop finds the agent by this port name. */
export const PROBE_AGENT_PORT_NAME = "tessera-agent";
export const PROBE_AGENT_PORT = 9901;
/** Any image with busybox's httpd; on the hostlet it maps to the host's busybox. */
export const PROBE_AGENT_IMAGE = "busybox:1.36";
const REPORT_DIR = "/tessera/probe-agent";
const VOLUME = "tessera-probe-agent";

/**
 * Runs before the container's own command, in its shell: a loop runs the role probe every period
 * inside the container (its tools, its sockets, its environment) and replaces the report file
 * atomically with `<sequence> <exit code> <first line of output>`; then the container's command
 * takes over the process. The sequence shows the operator that the loop still runs.
 */
const WRAPPER = `
report() {
  seq=0
  while :; do
    seq=$((seq + 1))
    out=$(sh -c "$TESSERA_ROLE_PROBE" 2>/dev/null)
    code=$?
    out=$(printf '%s\n' "$out" | head -n 1)
    printf '%s %s %s\\n' "$seq" "$code" "$out" >"${REPORT_DIR}/report.tmp"
    mv -f "${REPORT_DIR}/report.tmp" "${REPORT_DIR}/report"
    sleep "$TESSERA_ROLE_PROBE_PERIOD"
  done
}
report &
exec "$@"
`;

/**
 * Gives a pod the probe agent: the role probe runs inside the instance and is read over the pod
 * network, so steady-state probing costs the apiserver nothing (an exec per instance per
 * second otherwise). Only an exec probe in a container with an explicit command can be wrapped;
 * other pods keep being probed through `pods/exec`.
 */
export function withProbeAgent(spec: V1PodSpec, probe: ProbeAction | undefined): V1PodSpec {
  const exec = probe?.exec;
  const target = spec.containers.find((c) => c.name === exec?.container) ?? spec.containers[0];
  if (!exec || !target?.command?.length) return spec;
  const probeCommand = [
    ...(exec.env?.length ? ["env", ...exec.env.map((e) => `${e.name}=${e.value}`)] : []),
    ...exec.command,
  ]
    .map(shellQuote)
    .join(" ");
  const mount = { name: VOLUME, mountPath: REPORT_DIR };
  const wrapped = (container: V1Container): V1Container =>
    container !== target
      ? container
      : {
          ...container,
          command: ["sh", "-c", WRAPPER, "tessera-probe-agent"],
          args: [...container.command!, ...(container.args ?? [])],
          env: [
            ...(container.env ?? []),
            { name: "TESSERA_ROLE_PROBE", value: probeCommand },
            { name: "TESSERA_ROLE_PROBE_PERIOD", value: String(probe.periodSeconds ?? 1) },
          ],
          volumeMounts: [...(container.volumeMounts ?? []), mount],
        };
  const server: V1Container = {
    name: PROBE_AGENT_CONTAINER,
    image: PROBE_AGENT_IMAGE,
    command: ["busybox", "httpd", "-f", "-p", `$(TESSERA_POD_IP):${PROBE_AGENT_PORT}`, "-h", REPORT_DIR],
    env: [{ name: "TESSERA_POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
    ports: [{ name: PROBE_AGENT_PORT_NAME, containerPort: PROBE_AGENT_PORT }],
    resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { memory: "32Mi" } },
    volumeMounts: [{ ...mount, readOnly: true }],
  };
  return {
    ...spec,
    containers: [...spec.containers.map(wrapped), server],
    volumes: [...(spec.volumes ?? []), { name: VOLUME, emptyDir: {} }],
  };
}

export interface AgentReport {
  sequence: number;
  code: number;
  output: string;
}

/** Parses `<sequence> <exit code> <output>`; undefined for anything else. */
export function parseAgentReport(text: string): AgentReport | undefined {
  const match = /^(\d+) (\d+) ?(.*)$/.exec(text.trim());
  if (!match) return undefined;
  return { sequence: Number(match[1]), code: Number(match[2]), output: match[3]! };
}
