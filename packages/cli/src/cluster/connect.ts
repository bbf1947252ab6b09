import { spawn } from "node:child_process";
import type { V1Pod, V1Secret, V1Service } from "@kubernetes/client-node";
import { labels, type Cluster, names } from "@tessera/api";
import { AddonCatalog, primaryComponent, type ConnectFacts } from "../addons.js";
import { renderInvocation, shellLine, type Credentials, type Endpoint } from "../connection.js";
import type { OutputFormat } from "../options.js";
import { fields, print, serialize } from "../output.js";
import type { KubeConnection, Session } from "../session.js";
import { findCluster } from "./common.js";

export interface ConnectOptions {
  namespace?: string;
  instance?: string;
  show?: boolean;
  output: OutputFormat;
}

/** Where a client reaches a cluster's main component, and as whom. */
export interface ConnectionTarget {
  facts: ConnectFacts;
  /** The component's full name (`<cluster>-<component>`). */
  component: string;
  endpoint: Endpoint;
  /** The system account to connect as and the Secret holding its password, for engines with accounts. */
  account?: { username: string; secret: string };
}

/**
 * Opens the engine's own client against the cluster (through the service
 * the addon names, or one instance with -i); with --show prints the URL
 * and command instead, password included, because the user asked.
 */
export async function connectCluster(
  session: Session,
  name: string,
  clientArgs: string[],
  options: ConnectOptions,
): Promise<void> {
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const cluster = await findCluster(conn, namespace, name);
  if (cluster.status?.phase !== "Running") {
    process.stderr.write(
      `note: cluster ${namespace}/${name} is ${cluster.status?.phase ?? "Pending"}, not Running\n`,
    );
  }
  const target = await connectionTarget(conn, cluster, options.instance);
  const credentials = target.account && (await readCredentials(conn, namespace, target.account));
  const rendered = renderInvocation(target.facts, target.endpoint, credentials);
  const invocation = { ...rendered, command: [...rendered.command, ...clientArgs] };
  if (options.show) {
    if (options.output !== "table") print(serialize(invocation, options.output));
    else
      print(
        fields(session.style, [
          ...(invocation.url ? ([["url", invocation.url]] as [string, string][]) : []),
          ["command", shellLine(invocation)],
        ]),
      );
    return;
  }
  process.exitCode = await runClient(invocation.command, invocation.env);
}

export async function connectionTarget(
  conn: KubeConnection,
  cluster: Cluster,
  instance?: string,
): Promise<ConnectionTarget> {
  const name = cluster.metadata.name!;
  const namespace = cluster.metadata.namespace!;
  const addons = await AddonCatalog.load(conn.client, conn.server);
  const addon = addons.addonOf(cluster);
  if (addon?.cliProblem) throw new Error(addon.cliProblem);
  const facts = addon?.cli.connect;
  if (!addon || !facts) {
    throw new Error(
      `the ${addon?.name ?? "cluster's"} addon declares no client to connect with (cli.connect in its addon.yaml); find the endpoints with \`tessera cluster describe ${name} -n ${namespace}\``,
    );
  }
  const shortName = cluster.spec.clusterDef
    ? primaryComponent(
        addon,
        addons.catalog.topology(
          addons.catalog.clusterDefinition(cluster.spec.clusterDef),
          cluster.spec.topology,
        ),
      )
    : (addon.cli.component ?? cluster.spec.componentSpecs[0]!.name);
  const component = names.component(name, shortName);
  const endpoint = instance
    ? await instanceEndpoint(conn, cluster, component, instance, facts.port)
    : await serviceEndpoint(conn, cluster, names.service(component, facts.service), facts.port);
  const account = facts.account
    ? { username: facts.account, secret: names.accountSecret(component, facts.account) }
    : undefined;
  return { facts, component, endpoint, account };
}

async function serviceEndpoint(
  conn: KubeConnection,
  cluster: Cluster,
  name: string,
  portName: string,
): Promise<Endpoint> {
  const { name: clusterName, namespace } = cluster.metadata;
  const service = await conn.client.find<V1Service>({ apiVersion: "v1", kind: "Service", namespace, name });
  const port = service?.spec?.ports?.find((p) => p.name === portName);
  if (!service?.spec?.clusterIP || !port) {
    throw new Error(
      `service ${namespace}/${name} (port ${portName}) does not exist yet; wait for the cluster with \`tessera cluster describe ${clusterName} -n ${namespace}\``,
    );
  }
  return { host: service.spec.clusterIP, port: port.port };
}

/** An instance by pod name or ordinal (`-i 1` is `<cluster>-<component>-1`). */
async function instanceEndpoint(
  conn: KubeConnection,
  cluster: Cluster,
  component: string,
  instance: string,
  portName: string,
): Promise<Endpoint> {
  const { name: clusterName, namespace } = cluster.metadata;
  const podName = /^\d+$/.test(instance) ? names.instance(component, Number(instance)) : instance;
  const pod = await conn.client.find<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace, name: podName });
  if (!pod || pod.metadata?.labels?.[labels.component] !== component) {
    throw new Error(
      `instance "${instance}" is not an instance of ${component} in namespace ${namespace}; list them with \`tessera cluster describe ${clusterName} -n ${namespace}\``,
    );
  }
  const port = pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === portName);
  if (!pod.status?.podIP || !port)
    throw new Error(`instance ${podName} has no IP or no ${portName} port yet`);
  return { host: pod.status.podIP, port: port.containerPort };
}

async function readCredentials(
  conn: KubeConnection,
  namespace: string,
  account: NonNullable<ConnectionTarget["account"]>,
): Promise<Credentials> {
  const ref = { apiVersion: "v1", kind: "Secret", namespace, name: account.secret };
  const secret = await conn.client.find<V1Secret>(ref);
  if (!secret?.data) throw new Error(`account Secret ${namespace}/${account.secret} does not exist yet`);
  const decode = (key: string) => Buffer.from(secret.data?.[key] ?? "", "base64").toString("utf8");
  return { username: decode("username") || account.username, password: decode("password") };
}

/**
 * Runs the client attached to this terminal; resolves with its exit code.
 * Ctrl-C belongs to the client (psql cancels a query with it), so this
 * process ignores SIGINT while the client runs.
 */
function runClient(command: string[], env: Record<string, string>): Promise<number> {
  const ignore = () => undefined;
  process.on("SIGINT", ignore);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: "inherit", env: { ...process.env, ...env } });
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new Error(
              `${command[0]} is not installed on this machine; install it, or print the connection with --show`,
            )
          : error,
      );
    });
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  }).finally(() => process.off("SIGINT", ignore));
}
