import type { V1Container, V1Pod, V1PodSpec } from "@kubernetes/client-node";
import { names, shellQuote, type ProbeAction } from "@tessera/api";

/** The init container that installs the agent's HTTP server into the pod. */
export const AGENT_INSTALLER = "tessera-agent-install";
/** The agent's port, on the database container; the HA loop and the action runner find the agent by its name. */
export const AGENT_PORT_NAME = "tessera-agent";
export const AGENT_PORT = 9901;
/** Any image with busybox (for its httpd); on the hostlet it maps to the host's busybox. */
export const AGENT_IMAGE = "busybox:1.36";
/** The key of the component's agent Secret that holds the token actions must present. */
export const AGENT_TOKEN_KEY = "token";
/** The path of the action endpoint; the body is the shell script to run, the answer its output. */
export const AGENT_ACTION_PATH = "/cgi-bin/action";
const AGENT_DIR = "/tessera/agent";
const AGENT_BUSYBOX = `${AGENT_DIR}/bin/busybox`;
const VOLUME = "tessera-agent";
const TOKEN_ENV = "TESSERA_AGENT_TOKEN";

/**
 * Runs before the container's own command, in its shell, then the container's command takes over
 * the process. Two processes stay behind, both in the database container so that they get its
 * share of the CPU: a sidecar with a sidecar's small CPU request answers in seconds, not
 * milliseconds, once the database keeps the pod's CPU busy, and a late answer is a failed probe.
 * - the server, the installed busybox httpd, serves the report and the action endpoint (whose
 *   scripts therefore run in the container, with its tools, sockets and environment), and is
 *   started again should it exit (each loop is a shell of its own: the database's process, which
 *   takes over this one, never sees one of them end);
 * - the report loop runs the role probe every period inside the container and replaces the
 *   report file atomically with `<sequence> <exit code> <first line of output>`; the sequence
 *   shows the loop still runs. It runs on every instance all the time, so it starts no process
 *   the shell can do without (a loaded node pays for each). Until the probe first succeeds (the
 *   database starting) it runs every 0.2 s, at most 150 times: the instance's role, which its
 *   services and its component's readiness wait for, is then known right after its start
 *   instead of up to a period later.
 */
const WRAPPER = `
report() {
  mkdir -p "${AGENT_DIR}/www"
  seq=0
  quick=150
  newline='
'
  while :; do
    seq=$((seq + 1))
    out=$(eval "$TESSERA_ROLE_PROBE" 2>/dev/null)
    code=$?
    out=\${out%%"$newline"*}
    printf '%s %s %s\\n' "$seq" "$code" "$out" >"${AGENT_DIR}/www/report.tmp"
    mv -f "${AGENT_DIR}/www/report.tmp" "${AGENT_DIR}/www/report"
    if [ "$code" -ne 0 ] && [ "$quick" -gt 0 ]; then
      quick=$((quick - 1))
      sleep 0.2 2>/dev/null || sleep "$TESSERA_ROLE_PROBE_PERIOD"
    else
      quick=0
      sleep "$TESSERA_ROLE_PROBE_PERIOD"
    fi
  done
}
serve() {
  mkdir -p "${AGENT_DIR}/www/cgi-bin" "${AGENT_DIR}/requests"
  printf '%s' "$TESSERA_AGENT_CGI" >"${AGENT_DIR}/www/cgi-bin/action"
  chmod 755 "${AGENT_DIR}/www/cgi-bin/action"
  while :; do
    "${AGENT_BUSYBOX}" httpd -f -p "$TESSERA_POD_IP:${AGENT_PORT}" -h "${AGENT_DIR}/www"
    sleep 1
  done
}
serve &
report &
exec "$@"
`;

/**
 * The action endpoint, a CGI script of the agent's httpd. It checks the token and runs the
 * script under its timeout right there, in the database container: no hand-over to another
 * process and no polling for its end, which a failover pays for on every step it takes.
 */
const ACTION_CGI = `#!/bin/sh
dir=${AGENT_DIR}/requests
answer() { printf 'HTTP/1.0 %s\\r\\nContent-Type: text/plain\\r\\n%b\\r\\n' "$1" "$2"; }
if [ "$REQUEST_METHOD" != POST ]; then answer "405 Method Not Allowed" ""; exit 0; fi
if [ -z "$${TOKEN_ENV}" ] || [ "$HTTP_X_TESSERA_TOKEN" != "$${TOKEN_ENV}" ]; then
  answer "403 Forbidden" ""; exit 0
fi
seconds=\${HTTP_X_TESSERA_TIMEOUT:-30}
case "$seconds" in ''|*[!0-9]*) seconds=30 ;; esac
req="$dir/$$"
head -c "\${CONTENT_LENGTH:-0}" >"$req.sh"
timeout "$seconds" sh "$req.sh" >"$req.out" 2>"$req.err" </dev/null
code=$?
if [ "$code" = 124 ]; then
  answer "504 Gateway Timeout" ""
  echo "the action did not end within $seconds s"
else
  bytes=$(wc -c <"$req.out")
  answer "200 OK" "X-Tessera-Exit-Code: $code\\r\\nX-Tessera-Stdout-Bytes: $((bytes))\\r\\n"
  cat "$req.out" "$req.err"
fi
rm -f "$req".*
`;

/** Copies busybox where the database container finds it: its image need not have an HTTP server. */
const INSTALL = `mkdir -p "$0/bin" && cp "$(command -v busybox)" "$0/bin/busybox"`;

/** Kubernetes expands `$(NAME)` and turns `$$` into `$` in commands and env values: scripts stay as written. */
function literal(script: string): string {
  return script.replaceAll("$", "$$$$");
}

/**
 * Gives a pod the in-pod agent: the role probe runs inside the instance and is read over the pod
 * network, so steady-state probing costs the apiserver nothing (an exec per instance per second
 * otherwise); lifecycle actions for that container run through it too, without `pods/exec`. Only
 * an exec probe in a container with an explicit command can be wrapped; other pods keep being
 * probed, and acted on, through `pods/exec`.
 */
export function withAgent(spec: V1PodSpec, probe: ProbeAction | undefined, component: string): V1PodSpec {
  const exec = probe?.exec;
  const target = spec.containers.find((c) => c.name === exec?.container) ?? spec.containers[0];
  if (!exec || !target?.command?.length) return spec;
  const probeCommand = [
    ...(exec.env?.length ? ["env", ...exec.env.map((e) => `${e.name}=${e.value}`)] : []),
    ...exec.command,
  ]
    .map(shellQuote)
    .join(" ");
  const mount = { name: VOLUME, mountPath: AGENT_DIR };
  const wrapped = (container: V1Container): V1Container =>
    container !== target
      ? container
      : {
          ...container,
          command: ["sh", "-c", literal(WRAPPER), "tessera-agent"],
          args: [...container.command!, ...(container.args ?? [])],
          env: [
            ...(container.env ?? []),
            { name: "TESSERA_ROLE_PROBE", value: literal(probeCommand) },
            { name: "TESSERA_ROLE_PROBE_PERIOD", value: String(probe.periodSeconds ?? 1) },
            { name: "TESSERA_POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "TESSERA_AGENT_CGI", value: literal(ACTION_CGI) },
            {
              name: TOKEN_ENV,
              valueFrom: { secretKeyRef: { name: names.agentSecret(component), key: AGENT_TOKEN_KEY } },
            },
          ],
          ports: [...(container.ports ?? []), { name: AGENT_PORT_NAME, containerPort: AGENT_PORT }],
          volumeMounts: [...(container.volumeMounts ?? []), mount],
        };
  const installer: V1Container = {
    name: AGENT_INSTALLER,
    image: AGENT_IMAGE,
    command: ["sh", "-c", literal(INSTALL), AGENT_DIR],
    resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { memory: "32Mi" } },
    volumeMounts: [mount],
  };
  return {
    ...spec,
    initContainers: [...(spec.initContainers ?? []), installer],
    containers: spec.containers.map(wrapped),
    volumes: [...(spec.volumes ?? []), { name: VOLUME, emptyDir: {} }],
  };
}

/** Where a pod's agent answers and which container it runs actions in; undefined without one. */
export interface AgentEndpoint {
  ip: string;
  port: number;
  container: string;
  /** The Secret holding the token. */
  secret: string;
}

export function agentEndpoint(pod: V1Pod): AgentEndpoint | undefined {
  const containers = pod.spec?.containers ?? [];
  const server = containers.find((c) => c.ports?.some((p) => p.name === AGENT_PORT_NAME));
  const port = server?.ports?.find((p) => p.name === AGENT_PORT_NAME)?.containerPort;
  const ip = pod.status?.podIP;
  const wrapped = containers.find((c) => c.env?.some((e) => e.name === "TESSERA_ROLE_PROBE"));
  const secret = server?.env?.find((e) => e.name === TOKEN_ENV)?.valueFrom?.secretKeyRef?.name;
  if (!port || !ip || !wrapped || !secret) return undefined;
  return { ip, port, container: wrapped.name, secret };
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
