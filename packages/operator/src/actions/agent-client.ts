import type { V1Secret } from "@kubernetes/client-node";
import type { ExecResult, KubeClient } from "@tessera/kube";
import { AGENT_ACTION_PATH, AGENT_TOKEN_KEY, type AgentEndpoint } from "../component/agent.js";

/** The agent cannot take this action at all (not listening, or a pod from before it took actions). */
export class AgentUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AgentUnavailable";
  }
}

/** Answers the agent gives before anything ran: the caller may take another way. */
const NOTHING_RAN_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH"]);

function causeCode(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === "string" ? cause.code : undefined;
}

/**
 * Runs actions through a pod's in-pod agent: one HTTP request over the pod network carries the
 * script, the answer carries its exit code and output. The token comes from the component's
 * agent Secret, read once per Secret and again if the agent refuses it.
 */
export class AgentClient {
  private readonly tokens = new Map<string, string>();

  constructor(private readonly client: KubeClient) {}

  async run(
    namespace: string,
    endpoint: AgentEndpoint,
    script: string,
    timeoutSeconds: number,
  ): Promise<ExecResult> {
    const first = await this.post(namespace, endpoint, script, timeoutSeconds);
    if (first.status !== 403) return this.result(first);
    this.tokens.delete(`${namespace}/${endpoint.secret}`);
    return this.result(await this.post(namespace, endpoint, script, timeoutSeconds));
  }

  private async token(namespace: string, secretName: string): Promise<string> {
    const key = `${namespace}/${secretName}`;
    const cached = this.tokens.get(key);
    if (cached) return cached;
    const secret = await this.client.get<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      namespace,
      name: secretName,
    });
    const token = Buffer.from(secret.data?.[AGENT_TOKEN_KEY] ?? "", "base64").toString("utf8");
    if (!token) throw new Error(`Secret ${secretName} holds no agent token`);
    this.tokens.set(key, token);
    return token;
  }

  private async post(
    namespace: string,
    endpoint: AgentEndpoint,
    script: string,
    timeoutSeconds: number,
  ): Promise<Response> {
    const token = await this.token(namespace, endpoint.secret);
    try {
      return await fetch(`http://${endpoint.ip}:${endpoint.port}${AGENT_ACTION_PATH}`, {
        method: "POST",
        body: script,
        headers: {
          "content-type": "text/x-shellscript",
          "x-tessera-token": token,
          "x-tessera-timeout": String(timeoutSeconds),
        },
        // The agent gives up on the action after its timeout and answers within 5 s more.
        signal: AbortSignal.timeout((timeoutSeconds + 10) * 1000),
      });
    } catch (error) {
      const code = causeCode(error);
      if (code && NOTHING_RAN_CODES.has(code)) throw new AgentUnavailable(`agent: ${code}`);
      throw error;
    }
  }

  private async result(response: Response): Promise<ExecResult> {
    const body = Buffer.from(await response.arrayBuffer());
    if (response.status === 404) throw new AgentUnavailable("agent: this pod's agent takes no actions");
    if (response.status !== 200) {
      throw new Error(`agent: HTTP ${response.status}: ${body.toString("utf8").trim()}`);
    }
    const exitCode = Number(response.headers.get("x-tessera-exit-code"));
    const stdoutBytes = Number(response.headers.get("x-tessera-stdout-bytes"));
    if (!Number.isInteger(exitCode) || !Number.isInteger(stdoutBytes)) {
      throw new Error("agent: the answer carries no exit code");
    }
    return {
      exitCode,
      stdout: body.subarray(0, stdoutBytes).toString("utf8"),
      stderr: body.subarray(stdoutBytes).toString("utf8"),
    };
  }
}
