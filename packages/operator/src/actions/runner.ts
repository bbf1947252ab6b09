import { setTimeout as delay } from "node:timers/promises";
import type { V1Pod } from "@kubernetes/client-node";
import { labels, shellQuote, type Action, type LifecycleActionName, type Role } from "@tessera/api";
import { execInPod, errorMessage, type ExecResult, type KubeClient, type Logger } from "@tessera/kube";
import { ordinalOf } from "../instanceset/plan.js";
import { agentEndpoint } from "../component/agent.js";
import { AgentClient, AgentUnavailable } from "./agent-client.js";
import { secretVariables, targetPodEnv, type ActionEnv } from "./contract/index.js";

export class ActionError extends Error {
  constructor(
    readonly action: string,
    readonly pod: string | undefined,
    message: string,
    readonly result?: ExecResult,
  ) {
    super(message);
    this.name = "ActionError";
  }
}

export interface RunOptions {
  namespace: string;
  /** Pods of the component the action may run in. */
  pods: V1Pod[];
  roles?: Role[];
  /** Environment of the action (the TESSERA_* contract); delivered on stdin, never on the command line. */
  env: ActionEnv;
  /** Run in this pod regardless of the action's target selector. */
  pod?: string;
}

export interface ActionOutcome {
  pod: string;
  result: ExecResult;
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

function isRunning(pod: V1Pod): boolean {
  return pod.status?.phase === "Running" && !pod.metadata?.deletionTimestamp;
}

/** `KEY='value'` lines a POSIX shell can source. */
export function envScript(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => `${key}=${shellQuote(value)}\n`)
    .join("");
}

/**
 * The command actually executed: a POSIX shell reads the environment (a
 * known number of bytes) from stdin and execs the action, so values
 * (passwords included) never appear in the exec request or the process list.
 */
export function wrapCommand(command: string[], envBytes: number): string[] {
  return [
    "sh",
    "-c",
    `set -a; eval "$(head -c ${envBytes})"; set +a; exec "$@"`,
    "tessera-action",
    ...command,
  ];
}

function tail(text: string, lines = 10): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n").slice(-1000);
}

/** Chooses the pods an action runs in, per its target selector. */
export function selectTargets(action: Action, options: Pick<RunOptions, "pods" | "roles" | "pod">): V1Pod[] {
  const running = options.pods.filter(isRunning);
  if (options.pod) return running.filter((p) => p.metadata?.name === options.pod);
  const ready = running.filter(isReady);
  switch (action.targetPodSelector ?? "Any") {
    case "All":
      return ready;
    case "Role":
      return ready.filter((p) => p.metadata?.labels?.[labels.role] === action.matchingRole);
    case "Ordinal":
      return running.filter((p) => ordinalOf(p.metadata!.name!) === action.ordinal);
    case "Any": {
      // Prefer the writable instance: most actions (accounts, slots) must run there.
      const writable = new Set((options.roles ?? []).filter((r) => r.writable).map((r) => r.name));
      const preferred = ready.find((p) => writable.has(p.metadata?.labels?.[labels.role] ?? ""));
      return preferred ? [preferred] : ready.slice(0, 1);
    }
  }
}

/** Runs addon lifecycle actions in pods through `pods/exec` (or HTTP), with timeout and retries. */
export class ActionRunner {
  private readonly agent: AgentClient;

  constructor(
    private readonly client: KubeClient,
    private readonly logger?: Logger,
  ) {
    this.agent = new AgentClient(client);
  }

  async run(
    name: LifecycleActionName | `customOps.${string}`,
    action: Action,
    options: RunOptions,
  ): Promise<ActionOutcome[]> {
    const targets = selectTargets(action, options);
    if (targets.length === 0) {
      throw new ActionError(
        name,
        options.pod,
        `action ${name}: no ${options.pod ?? "ready"} pod to run it in`,
      );
    }
    const outcomes: ActionOutcome[] = [];
    for (const pod of targets)
      outcomes.push({
        pod: pod.metadata!.name!,
        result: await this.runWithRetries(name, action, pod, options),
      });
    return outcomes;
  }

  private async runWithRetries(
    name: string,
    action: Action,
    pod: V1Pod,
    options: RunOptions,
  ): Promise<ExecResult> {
    const retries = action.retryPolicy?.maxRetries ?? 0;
    const intervalMs = (action.retryPolicy?.retryIntervalSeconds ?? 2) * 1000;
    for (let attempt = 0; ; attempt++) {
      const startedAt = Date.now();
      try {
        const result = await this.runOnce(name, action, pod, options);
        this.logger?.debug(
          { action: name, pod: pod.metadata?.name, ms: Date.now() - startedAt },
          "action ran",
        );
        return result;
      } catch (error) {
        if (attempt >= retries) throw error;
        this.logger?.debug(
          { action: name, pod: pod.metadata?.name, attempt, err: errorMessage(error) },
          "action retry",
        );
        await delay(intervalMs * 2 ** attempt);
      }
    }
  }

  private async runOnce(name: string, action: Action, pod: V1Pod, options: RunOptions): Promise<ExecResult> {
    const podName = pod.metadata!.name!;
    const env: Record<string, string> = {
      ...Object.fromEntries((action.exec?.env ?? []).map((e) => [e.name, e.value])),
      ...options.env,
      ...targetPodEnv(pod, options.namespace),
    };
    const timeoutMs = action.timeoutSeconds * 1000;
    if (action.exec) {
      const container = action.exec.container ?? pod.spec?.containers[0]?.name ?? "";
      let result: ExecResult;
      try {
        result = await this.runCommand(
          options.namespace,
          pod,
          container,
          action.exec.command,
          env,
          timeoutMs,
        );
      } catch (error) {
        throw new ActionError(name, podName, `action ${name} in ${podName}: ${errorMessage(error)}`);
      }
      if (result.exitCode !== 0) {
        throw new ActionError(
          name,
          podName,
          `action ${name} in ${podName} exited with ${result.exitCode}: ${tail(result.stderr || result.stdout)}`,
          result,
        );
      }
      return result;
    }
    if (action.http) return this.runHttp(name, action, pod, env, timeoutMs);
    throw new ActionError(name, podName, `action ${name} has neither exec nor http`);
  }

  /**
   * Through the pod's agent when it runs actions in this container, over the pod network: no
   * apiserver or kubelet in the way. An action whose environment carries a secret still goes
   * through `pods/exec`, whose stream is encrypted end to end; so does any action when the agent
   * cannot take it before anything ran.
   */
  private async runCommand(
    namespace: string,
    pod: V1Pod,
    container: string,
    command: string[],
    env: Record<string, string>,
    timeoutMs: number,
  ): Promise<ExecResult> {
    const script = envScript(env);
    const endpoint = agentEndpoint(pod);
    if (endpoint?.container === container && !Object.keys(env).some((k) => secretVariables.has(k))) {
      const body = `set -a\n${script}set +a\nexec ${command.map(shellQuote).join(" ")}\n`;
      try {
        return await this.agent.run(namespace, endpoint, body, Math.ceil(timeoutMs / 1000));
      } catch (error) {
        if (!(error instanceof AgentUnavailable)) throw error;
        this.logger?.debug({ pod: pod.metadata?.name, err: error.message }, "action through pods/exec");
      }
    }
    return execInPod(this.client, {
      namespace,
      pod: pod.metadata!.name!,
      container,
      command: wrapCommand(command, Buffer.byteLength(script)),
      stdin: script,
      timeoutMs,
    });
  }

  private async runHttp(
    name: string,
    action: Action,
    pod: V1Pod,
    env: Record<string, string>,
    timeoutMs: number,
  ): Promise<ExecResult> {
    const http = action.http!;
    const podName = pod.metadata!.name!;
    const port = typeof http.port === "number" ? http.port : namedPort(pod, http.port);
    const url = `${http.scheme.toLowerCase()}://${pod.status?.podIP}:${port}${http.path}`;
    try {
      const response = await fetch(url, {
        method: http.method,
        signal: AbortSignal.timeout(timeoutMs),
        ...(http.method === "GET"
          ? {}
          : { body: JSON.stringify(env), headers: { "content-type": "application/json" } }),
      });
      const body = await response.text();
      if (!response.ok) {
        throw new ActionError(
          name,
          podName,
          `action ${name} in ${podName}: HTTP ${response.status}: ${tail(body)}`,
        );
      }
      return { exitCode: 0, stdout: body, stderr: "" };
    } catch (error) {
      if (error instanceof ActionError) throw error;
      throw new ActionError(name, podName, `action ${name} in ${podName}: ${errorMessage(error)}`);
    }
  }
}

function namedPort(pod: V1Pod, name: string): number {
  for (const container of pod.spec?.containers ?? []) {
    const port = container.ports?.find((p) => p.name === name);
    if (port) return port.containerPort;
  }
  const numeric = Number(name);
  if (Number.isInteger(numeric)) return numeric;
  throw new Error(`pod ${pod.metadata?.name} has no port named ${name}`);
}

export function podIsReady(pod: V1Pod): boolean {
  return isReady(pod);
}
