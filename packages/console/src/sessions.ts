import { randomBytes } from "node:crypto";
import { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";
import { ApiError, KubeClient } from "@tessera/kube";

/** What a user signs in with: a bearer token, or a kubeconfig whose user has a token or a client certificate. */
export type Credentials = { token: string } | { kubeconfig: string };

interface KubeconfigUser {
  token?: string;
  "client-certificate-data"?: string;
  "client-key-data"?: string;
}

interface KubeconfigFile {
  "current-context"?: string;
  contexts?: { name: string; context: { user: string } }[];
  users?: { name: string; user: KubeconfigUser }[];
}

/** The signing-in user's credentials out of a kubeconfig's current context; only inline ones are accepted. */
function kubeconfigUser(text: string): KubeconfigUser {
  const file = parse(text) as KubeconfigFile | null;
  const context = file?.contexts?.find((c) => c.name === file["current-context"]) ?? file?.contexts?.[0];
  const user = file?.users?.find((u) => u.name === context?.context.user)?.user;
  if (user?.token) return { token: user.token };
  if (user?.["client-certificate-data"] && user["client-key-data"])
    return {
      "client-certificate-data": user["client-certificate-data"],
      "client-key-data": user["client-key-data"],
    };
  throw new SignInError("the kubeconfig's user has neither a token nor inline client certificate data");
}

export class SignInError extends Error {}

export interface Session {
  client: KubeClient;
  expiresAt: number;
}

/**
 * Signed-in users, each with a Kubernetes client that speaks with the
 * user's own credentials to the console's apiserver (the server and its CA
 * come from the console's kubeconfig, never from the user), so RBAC decides
 * what each user sees. Sessions live in memory, keyed by a random id.
 */
export class Sessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly console: KubeConfig,
    private readonly ttlMs = 12 * 3600_000,
  ) {}

  /** Builds the user's client and proves the credentials with one authenticated request. */
  async signIn(credentials: Credentials): Promise<string> {
    const user =
      "token" in credentials ? { token: credentials.token } : kubeconfigUser(credentials.kubeconfig);
    const cluster = this.console.getCurrentCluster();
    if (!cluster) throw new Error("the console's kubeconfig has no current cluster");
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [cluster],
      users: [
        {
          name: "user",
          token: user.token,
          certData: user["client-certificate-data"],
          keyData: user["client-key-data"],
        },
      ],
      contexts: [{ name: "user", cluster: cluster.name, user: "user" }],
      currentContext: "user",
    });
    const client = new KubeClient(kc);
    try {
      await client.request("GET", "/apis/tessera.dev/v1alpha1");
    } catch (error) {
      client.close();
      if (error instanceof ApiError && error.statusCode === 401)
        throw new SignInError("the apiserver refused these credentials");
      throw error;
    }
    const id = randomBytes(32).toString("base64url");
    this.sessions.set(id, { client, expiresAt: Date.now() + this.ttlMs });
    return id;
  }

  get(id: string | undefined): Session | undefined {
    const session = id ? this.sessions.get(id) : undefined;
    if (session && session.expiresAt < Date.now()) {
      this.signOut(id!);
      return undefined;
    }
    return session;
  }

  signOut(id: string): void {
    this.sessions.get(id)?.client.close();
    this.sessions.delete(id);
  }

  close(): void {
    for (const id of [...this.sessions.keys()]) this.signOut(id);
  }
}
