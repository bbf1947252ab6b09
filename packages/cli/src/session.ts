import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { KubeClient } from "@tessera/kube";
import { quoteList } from "./errors.js";
import { asKubectlPlugin } from "./invocation.js";
import { colorEnabled, Style } from "./style.js";

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  color: boolean;
}

/** A client for the cluster this invocation talks to, and where its kubeconfig came from. */
export interface KubeConnection {
  client: KubeClient;
  /** The kubeconfig file, or undefined when $KUBECONFIG (possibly a list) is used as is. */
  kubeconfig?: string;
  /** How the kubeconfig was chosen, for messages: "--kubeconfig", "$KUBECONFIG", "the playground", … */
  source: string;
  server: string;
  /** The current context's namespace, else "default". */
  namespace: string;
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENOTFOUND", "ETIMEDOUT"]);

/**
 * What one invocation of the CLI shares: global options, output style and a
 * lazily opened Kubernetes client. Heavy modules load only when a command
 * needs the cluster, so help and completion stay quick.
 */
export class Session {
  private connection?: Promise<KubeConnection>;
  private opened?: KubeClient;
  private target?: { kubeconfig?: string; source: string; server?: string };

  constructor(private readonly globals: () => GlobalOptions) {}

  get style(): Style {
    return new Style(colorEnabled(this.globals().color));
  }

  /** Whether the user chose a cluster (--kubeconfig or $KUBECONFIG) rather than leaving it to the playground. */
  get kubeconfigGiven(): boolean {
    return Boolean(this.globals().kubeconfig || process.env.KUBECONFIG);
  }

  /**
   * The cluster named by --kubeconfig, $KUBECONFIG, the running playground or ~/.kube/config, in that
   * order; as a kubectl plugin, the playground is skipped, as kubectl itself would.
   */
  kube(): Promise<KubeConnection> {
    this.connection ??= this.chooseKubeconfig().then((choice) => this.open(choice.kubeconfig, choice.source));
    return this.connection;
  }

  /** Talks to this kubeconfig instead, whatever the flags say (the playground right after `tessera up`). */
  useKubeconfig(kubeconfig: string, source: string): Promise<KubeConnection> {
    this.connection = this.open(kubeconfig, source);
    return this.connection;
  }

  private async chooseKubeconfig(): Promise<{ kubeconfig?: string; source: string }> {
    const flag = this.globals().kubeconfig;
    if (flag) return { kubeconfig: flag, source: "--kubeconfig" };
    if (process.env.KUBECONFIG) return { source: "$KUBECONFIG" };
    // As a kubectl plugin, talk to the cluster kubectl would: never silently to the playground.
    if (!asKubectlPlugin()) {
      const { defaultPlaygroundDir, playgroundState } = await import("@tessera/playground/lifecycle");
      const playground = playgroundState(defaultPlaygroundDir());
      if (playground.running && playground.progress?.kubeconfig)
        return { kubeconfig: playground.progress.kubeconfig, source: "the playground" };
    }
    const home = join(homedir(), ".kube", "config");
    if (existsSync(home)) return { kubeconfig: home, source: "~/.kube/config" };
    throw new Error(
      asKubectlPlugin()
        ? "no Kubernetes cluster to talk to: set $KUBECONFIG or pass --kubeconfig, as for kubectl"
        : "no Kubernetes cluster to talk to: start the playground with `tessera up`, or pass --kubeconfig",
    );
  }

  private async open(kubeconfig: string | undefined, source: string): Promise<KubeConnection> {
    const { KubeClient, loadKubeConfig } = await import("@tessera/kube");
    this.target = { kubeconfig, source };
    let config;
    try {
      config = loadKubeConfig(kubeconfig, this.globals().context);
    } catch (error) {
      throw new Error(
        `cannot load kubeconfig ${kubeconfig ?? "from $KUBECONFIG"}: ${(error as Error).message}`,
      );
    }
    const context = config.getContextObject(config.getCurrentContext());
    const cluster = config.getCurrentCluster();
    if (!context || !cluster) {
      const known = config.getContexts().map((c) => c.name);
      throw new Error(
        `context "${config.getCurrentContext()}" is not in kubeconfig ${kubeconfig ?? "$KUBECONFIG"} (or names no cluster); contexts: ${quoteList(known)}`,
      );
    }
    this.opened?.close();
    this.opened = new KubeClient(config);
    const server = cluster.server;
    this.target.server = server;
    return {
      client: this.opened,
      kubeconfig,
      source,
      server,
      namespace: context.namespace || "default",
    };
  }

  /** One line for a failure, naming the API server when it could not be reached. */
  explain(error: unknown): string {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    const message = error instanceof Error ? error.message : String(error);
    if (this.target && (UNREACHABLE.has(code ?? "") || /request timed out/.test(message))) {
      const where = this.target.server ?? "the API server";
      const hint =
        this.target.source === "the playground"
          ? "check it with `tessera status`"
          : "check the cluster is up, or choose another with --kubeconfig/--context";
      return `cannot reach the Kubernetes API at ${where} (${code ?? message}; kubeconfig from ${this.target.source}); ${hint}`;
    }
    return message;
  }

  close(): void {
    this.opened?.close();
  }
}
