import {
  API_VERSION,
  type Cluster,
  type OpsRequest,
  type OpsRequestSpec,
  type OpsType,
  type ResourceRequirements,
} from "@tessera/api";
import { ApiError } from "@tessera/kube";
import { AddonCatalog } from "../addons.js";
import { findCluster } from "../cluster/common.js";
import { UsageError, quoteList } from "../errors.js";
import type { OutputFormat } from "../options.js";
import { print, serialize, withoutManagedFields } from "../output.js";
import type { KubeConnection, Session } from "../session.js";
import { Spinner } from "../spinner.js";
import { endedAs, waitUntilEnded } from "./common.js";

export interface OperationOptions {
  namespace?: string;
  output: OutputFormat;
  wait?: boolean;
  timeout: number;
}

export interface ComponentsOptions extends OperationOptions {
  component?: string[];
}

export interface ScaleOptions extends OperationOptions {
  component?: string;
  replicas?: number;
  offline?: string[];
  online?: string[];
  cpu?: string;
  memory?: string;
}

export interface SwitchoverOptions extends OperationOptions {
  component?: string;
  candidate?: string;
}

export interface ReconfigureOptions extends OperationOptions {
  component?: string;
  set: string[];
}

/** `name=value` pairs of a repeatable option (--set by default); a value may itself contain `=`. */
export function parseSettings(
  settings: string[],
  flag = "--set",
  example = "work_mem=64MB",
): Record<string, string> {
  const parameters: Record<string, string> = {};
  for (const setting of settings) {
    const at = setting.indexOf("=");
    if (at < 1) throw new UsageError(`${flag} ${setting}: expected name=value, e.g. ${flag} ${example}`);
    parameters[setting.slice(0, at)] = setting.slice(at + 1);
  }
  return parameters;
}

/** Short words for generated names: `<cluster>-<word>-<random>`. */
const WORDS: Record<OpsType, string> = {
  Restart: "restart",
  Stop: "stop",
  Start: "start",
  HorizontalScaling: "hscale",
  VerticalScaling: "vscale",
  Switchover: "switchover",
  Custom: "custom",
  Upgrade: "upgrade",
  RebuildInstance: "rebuild",
  VolumeExpansion: "expand",
  Expose: "expose",
  Reconfiguring: "reconfigure",
  Backup: "backup",
  Restore: "restore",
};

/**
 * The component an option-less scale or switchover acts on: the only one, else
 * the one the engine's addon names for sizing (as `cluster create` does).
 */
export async function chooseComponent(
  conn: KubeConnection,
  cluster: Cluster,
  given?: string,
): Promise<string> {
  if (given) return given;
  const components = cluster.spec.componentSpecs.map((c) => c.name);
  if (components.length === 1) return components[0]!;
  const addon = (await AddonCatalog.load(conn.client, conn.server)).addonOf(cluster);
  const chosen = addon?.cli.component;
  if (chosen && components.includes(chosen)) return chosen;
  throw new UsageError(
    `cluster ${cluster.metadata.name} has components ${quoteList(components)}; choose one with --component`,
  );
}

/** Creates the OpsRequest, turning the webhook's refusal into one line; with --wait, follows it to its end. */
export async function submit(
  session: Session,
  clusterName: string,
  spec: (
    cluster: Cluster,
    conn: KubeConnection,
  ) => Promise<
    Omit<OpsRequestSpec, "clusterName" | "progressDeadlineSeconds" | "preConditionDeadlineSeconds">
  >,
  options: OperationOptions,
): Promise<void> {
  const conn = await session.kube();
  const namespace = options.namespace ?? conn.namespace;
  const cluster = await findCluster(conn, namespace, clusterName);
  const wanted = await spec(cluster, conn);
  const request = {
    apiVersion: API_VERSION,
    kind: "OpsRequest",
    metadata: { generateName: `${clusterName}-${WORDS[wanted.type]}-`, namespace },
    spec: { clusterName, ...wanted },
  } as unknown as OpsRequest;
  let created: OpsRequest;
  try {
    created = await conn.client.create(request);
  } catch (error) {
    if (error instanceof ApiError && (error.statusCode === 403 || error.statusCode === 422))
      throw new Error(`the ${wanted.type} was refused: ${error.message}`);
    throw error;
  }
  const name = created.metadata.name!;
  if (options.output !== "table") print(serialize(withoutManagedFields(created), options.output));
  else print(`OpsRequest ${namespace}/${name} created: ${wanted.type} of cluster ${clusterName}`);
  if (options.wait) {
    const done = await Spinner.run(session.style, `${wanted.type} of ${clusterName}`, (spinner) =>
      waitUntilEnded(conn.client, namespace, name, options.timeout, spinner).then((op) =>
        endedAs(op, "Succeed"),
      ),
    );
    if (options.output === "table")
      print(`${done.status?.message ?? "done"} (${done.status?.progress ?? ""})`);
  } else if (options.output === "table") {
    print(`follow it with \`tessera ops describe ${name} -n ${namespace}\``);
  }
}

const componentList = (names?: string[]) =>
  names?.length ? names.map((componentName) => ({ componentName })) : undefined;

export function restartCluster(session: Session, name: string, options: ComponentsOptions) {
  return submit(
    session,
    name,
    async () => ({ type: "Restart", restart: componentList(options.component) }),
    options,
  );
}

export function stopCluster(session: Session, name: string, options: ComponentsOptions) {
  return submit(
    session,
    name,
    async () => ({ type: "Stop", stop: componentList(options.component) }),
    options,
  );
}

export function startCluster(session: Session, name: string, options: ComponentsOptions) {
  return submit(
    session,
    name,
    async () => ({ type: "Start", start: componentList(options.component) }),
    options,
  );
}

/** Replicas and chosen instances make a HorizontalScaling; --cpu/--memory (requests and limits) a VerticalScaling. */
export function scaleCluster(session: Session, name: string, options: ScaleOptions) {
  const horizontal = options.replicas !== undefined || options.offline?.length || options.online?.length;
  const vertical = options.cpu !== undefined || options.memory !== undefined;
  if (!horizontal && !vertical)
    throw new UsageError("nothing to scale: set --replicas, --offline or --online, or --cpu or --memory");
  if (horizontal && vertical)
    throw new UsageError(
      "scale instances (--replicas, --offline, --online) and resources (--cpu, --memory) in separate commands",
    );
  return submit(
    session,
    name,
    async (cluster, conn) => {
      const componentName = await chooseComponent(conn, cluster, options.component);
      if (horizontal) {
        return {
          type: "HorizontalScaling",
          horizontalScaling: [
            {
              componentName,
              ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
              ...(options.offline?.length ? { offlineInstances: options.offline } : {}),
              ...(options.online?.length ? { onlineInstances: options.online } : {}),
            },
          ],
        };
      }
      const amounts = {
        ...(options.cpu !== undefined ? { cpu: options.cpu } : {}),
        ...(options.memory !== undefined ? { memory: options.memory } : {}),
      };
      const resources: ResourceRequirements = { requests: amounts, limits: amounts };
      return { type: "VerticalScaling", verticalScaling: [{ componentName, resources }] };
    },
    options,
  );
}

export function switchoverCluster(session: Session, name: string, options: SwitchoverOptions) {
  return submit(
    session,
    name,
    async (cluster, conn) => ({
      type: "Switchover",
      switchover: [
        {
          componentName: await chooseComponent(conn, cluster, options.component),
          ...(options.candidate ? { candidateName: options.candidate } : {}),
        },
      ],
    }),
    options,
  );
}

/** Each --set becomes a parameter of one Reconfiguring; the webhook checks them against the addon's schema. */
export function reconfigureCluster(session: Session, name: string, options: ReconfigureOptions) {
  if (!options.set?.length) throw new UsageError("nothing to change: give at least one --set name=value");
  const parameters = parseSettings(options.set);
  return submit(
    session,
    name,
    async (cluster, conn) => ({
      type: "Reconfiguring",
      reconfiguring: [{ componentName: await chooseComponent(conn, cluster, options.component), parameters }],
    }),
    options,
  );
}
