import { execFile } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import type { V1Pod, V1Secret, V1Service } from "@kubernetes/client-node";
import { labels, type TerminationPolicy } from "@tessera/api";
import { waitFor, type KubeClient } from "@tessera/kube";
import type { TestPlatform } from "../support/platform.js";

/**
 * Runs a real database client (psql, redis-cli, etcdctl) on the host. Secrets
 * travel in the environment, never on the command line. Rejects on a
 * non-zero exit or on timeout (the client is killed), with its stderr.
 */
export function runClient(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs ?? 10_000,
        killSignal: "SIGKILL",
        maxBuffer: 16 << 20,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${command} ${args.join(" ")}: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end();
  });
}

/** One instance of a component as the scenarios see it. */
export interface Instance {
  name: string;
  uid: string;
  ip: string;
  ready: boolean;
  /** The `tessera.dev/role` label Tessera put on the pod. */
  role?: string;
}

function toInstance(pod: V1Pod): Instance {
  return {
    name: pod.metadata!.name!,
    uid: pod.metadata!.uid!,
    ip: pod.status?.podIP ?? "",
    ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    ...(pod.metadata?.labels?.[labels.role] ? { role: pod.metadata.labels[labels.role] } : {}),
  };
}

/** A Tessera Cluster under test: its services, account Secrets and instances, read from the API. */
export class ClusterHandle {
  constructor(
    readonly client: KubeClient,
    readonly namespace: string,
    readonly name: string,
  ) {}

  /** The full name of one of the cluster's components. */
  component(shortName: string): string {
    return `${this.name}-${shortName}`;
  }

  /** ClusterIP of the component service `<cluster>-<component>-<service>`, reachable from the host. */
  async serviceIP(component: string, service: string): Promise<string> {
    const found = await this.client.get<V1Service>({
      apiVersion: "v1",
      kind: "Service",
      namespace: this.namespace,
      name: `${this.component(component)}-${service}`,
    });
    return found.spec!.clusterIP!;
  }

  /** Username and password of a system account, from the Secret Tessera generated. */
  async account(component: string, account: string): Promise<{ username: string; password: string }> {
    const secret = await this.client.get<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      namespace: this.namespace,
      name: `${this.component(component)}-account-${account}`,
    });
    const decode = (key: string) => Buffer.from(secret.data?.[key] ?? "", "base64").toString("utf8");
    return { username: decode("username"), password: decode("password") };
  }

  /** Live (not terminating) pods of the cluster, or of one of its components, by name. */
  async pods(component?: string): Promise<V1Pod[]> {
    const selector = component
      ? `${labels.component}=${this.component(component)}`
      : `${labels.cluster}=${this.name}`;
    const list = await this.client.list<V1Pod>("v1", "Pod", {
      namespace: this.namespace,
      labelSelector: selector,
    });
    return list.items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  }

  async instances(component: string): Promise<Instance[]> {
    return (await this.pods(component)).map(toInstance);
  }
}

/** What a cluster looks like, for a failed scenario: objects, recent events, each container's log tail, the operator's log. */
export async function diagnostics(platform: TestPlatform, cluster: ClusterHandle): Promise<string> {
  const kubectl = async (args: string[]) => {
    const result = await platform.cluster.kubectl(args);
    return (result.stdout + result.stderr).trimEnd();
  };
  const ns = cluster.namespace;
  const sections = [
    await kubectl(["get", "clusters,components,pods", "-n", ns, "-L", labels.role]),
    await kubectl(["get", "events", "-n", ns, "--sort-by=.lastTimestamp"]).then((e) =>
      e.split("\n").slice(-25).join("\n"),
    ),
  ];
  for (const pod of await cluster.pods()) {
    const name = pod.metadata!.name!;
    // Init containers that ran (a failing one keeps the pod from starting at all).
    const started = (pod.status?.initContainerStatuses ?? [])
      .filter((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated)
      .map((s) => ({ name: s.name, previous: !s.state?.running && !s.state?.terminated }));
    const containers = (pod.spec?.containers ?? []).map((c) => ({ name: c.name, previous: false }));
    for (const container of [...started, ...containers])
      sections.push(
        `${name}/${container.name}:\n${await kubectl([
          "logs",
          "-n",
          ns,
          name,
          "-c",
          container.name,
          "--tail=15",
          ...(container.previous ? ["--previous"] : []),
        ])}`,
      );
  }
  sections.push(`operator:\n${platform.operator.logTail(30)}`);
  return sections.join("\n\n");
}

/** A real client session of an engine, bound to a cluster's services and credentials. */
export interface EngineClient {
  /** Writes key = value through the writable service; resolves once the engine acknowledged it. */
  write(key: string, value: string): Promise<void>;
  /** Reads a key through the read service (possibly from a replica). */
  read(key: string): Promise<string | undefined>;
  /** Keys starting with prefix, read through the writable service. */
  keys(prefix: string): Promise<string[]>;
}

/** Where a client connects to instead of the cluster's services: e.g. a node port on the host. */
export interface Endpoint {
  host: string;
  port: number;
}

/** An address a client takes: a bare host is reached on the engine's own port. */
export function endpointOf(target: string | Endpoint, port: number): Endpoint {
  return typeof target === "string" ? { host: target, port } : target;
}

export interface ManifestOptions {
  name: string;
  namespace: string;
  /** Instances of the main component. */
  replicas: number;
  terminationPolicy: TerminationPolicy;
  /** Engine parameters of the main component (render with `parametersField`). */
  parameters: Record<string, string>;
}

/** The `parameters:` line of a component spec (JSON is YAML), or nothing. */
export function parametersField(parameters: Record<string, string>, indent = "      "): string {
  return Object.keys(parameters).length ? `${indent}parameters: ${JSON.stringify(parameters)}\n` : "";
}

/**
 * What an addon tells the conformance suite about its engine: how to
 * declare a cluster, how to talk to it with the engine's own client, how to
 * ask the engine about roles and membership, and what it promises.
 */
export interface EngineDescriptor {
  /** The engine, as in `npm run conformance -- <name>`. */
  name: string;
  /** The addon directory to install. */
  addon: string;
  /** Short name of the component the scenarios scale, restart and kill. */
  component: string;
  /** Its main container (the one whose processes are killed). */
  container: string;
  /** The role that accepts writes, as the addon names it. */
  writableRole: string;
  replicas: { initial: number; scaled: number };
  /** A Cluster manifest (YAML) for the engine's replicated topology. */
  manifest(options: ManifestOptions): string;
  /** The port its clients connect to, on the writable service and on the instances. */
  port: number;
  /**
   * Opens a client session through the cluster's services with the account
   * Secret's credentials; given an endpoint, it writes and reads there alone.
   */
  connect(cluster: ClusterHandle, endpoint?: Endpoint): Promise<EngineClient>;
  /** The engine's own answer to "what role does this instance have?", in the addon's role names. */
  roleOf(cluster: ClusterHandle, instance: Instance): Promise<string>;
  /** The instances the engine itself counts as serving members (pod names). */
  members(cluster: ClusterHandle, instances: Instance[]): Promise<string[]>;
  /** A parameter the engine applies in place (the reconfigure action), with a value and how to read it back. */
  dynamicParameter?: {
    name: string;
    value: string;
    read(cluster: ClusterHandle, instance: Instance): Promise<string>;
  };
  /** An operation the addon declares in customOps, with parameters, run as a Custom OpsRequest. */
  customOp?: { name: string; parameters?: Record<string, string> };
  /** The addon's backup method the backup → restore round trip takes; without one, no round trip. */
  backupMethod?: string;
  /** An engine invariant that must hold at every moment of a scale-out and scale-in. */
  scalingInvariant?: { description: string; holds(cluster: ClusterHandle): Promise<boolean> };
  guarantees: {
    /** The writable role is moved away (switchover) before its instance restarts. */
    switchover: boolean;
    /** Killing the writable instance hands the writable role to another instance. */
    failoverMovesWritableRole: boolean;
    /** No acknowledged write is lost when the writable instance is killed. */
    failoverKeepsAcknowledgedWrites: boolean;
    /** No acknowledged write is lost across a switchover (rolling restart, scale-in). */
    switchoverKeepsAcknowledgedWrites: boolean;
  };
}

/**
 * Writes sequential keys through an engine client as a steady stream,
 * retrying after failures, and remembers exactly which writes were
 * acknowledged.
 */
export class Writer {
  private running = false;
  private loop?: Promise<void>;
  private readonly acknowledged: string[] = [];
  failures = 0;
  lastError = "";

  constructor(
    private readonly db: EngineClient,
    readonly prefix: string,
  ) {}

  start(): this {
    this.running = true;
    this.loop = this.run();
    return this;
  }

  get count(): number {
    return this.acknowledged.length;
  }

  private async run(): Promise<void> {
    for (let n = 1; this.running; n++) {
      const key = `${this.prefix}/${String(n).padStart(6, "0")}`;
      try {
        await this.db.write(key, String(n));
        this.acknowledged.push(key);
      } catch (error) {
        this.failures++;
        this.lastError = (error as Error).message;
      }
      // Pacing, not waiting: leaves the two shared cores to the cluster under test.
      await delay(20);
    }
  }

  /** Stops writing and returns the acknowledged keys. */
  async stop(): Promise<string[]> {
    this.running = false;
    await this.loop;
    return [...this.acknowledged];
  }

  /** Acknowledged keys the engine no longer has. */
  async lost(keys: string[]): Promise<string[]> {
    // The verdict is worth a wait: a loaded node may take longer than a client's connect timeout.
    const present = new Set(
      await waitFor(() => this.db.keys(`${this.prefix}/`), {
        description: `the keys under ${this.prefix}/`,
        timeoutMs: 60_000,
        intervalMs: 1_000,
      }),
    );
    return keys.filter((k) => !present.has(k));
  }
}
