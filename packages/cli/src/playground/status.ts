import { OPERATOR_LEASE, OPERATOR_NAMESPACE } from "@tessera/api";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { V1Lease, V1Node } from "@kubernetes/client-node";
import { defaultPlaygroundDir, playgroundState } from "@tessera/playground/lifecycle";
import { AddonCatalog } from "../addons.js";
import { tesseraCommand } from "../invocation.js";
import type { OutputFormat } from "../options.js";
import { age, print, serialize, table } from "../output.js";
import type { KubeConnection, Session } from "../session.js";

export interface StatusOptions {
  output: OutputFormat;
}

/** One line of `tessera status`: a part of the platform, whether it is healthy, and why. */
interface Check {
  name: string;
  healthy: boolean;
  detail: string;
}

/** The operator's leader Lease: the operator's default namespace and its Lease name. */

/**
 * Health of the playground supervisor (when the playground is the target),
 * the control plane, each node, the operator and the installed addons.
 * Exits 1 when anything is unhealthy.
 */
export async function status(session: Session, options: StatusOptions): Promise<void> {
  const checks: Check[] = [];
  let reachable = true;
  if (!session.kubeconfigGiven) {
    const playground = playgroundCheck();
    checks.push(playground);
    reachable = playground.healthy || existsSync(join(homedir(), ".kube", "config"));
  }
  let target: string | undefined;
  if (reachable) {
    const conn = await session.kube();
    target = `${conn.server} (kubeconfig from ${conn.source})`;
    checks.push(...(await clusterChecks(session, conn)));
  }
  if (options.output !== "table") {
    print(serialize({ cluster: target, healthy: checks.every((c) => c.healthy), checks }, options.output));
  } else {
    const style = session.style;
    if (target) print(`${style.bold("Cluster:")} ${target}`);
    print(
      table(
        style,
        ["component", "status", "detail"],
        checks.map((c) => [c.name, c.healthy ? style.green("healthy") : style.red("unhealthy"), c.detail]),
      ),
    );
  }
  if (!checks.every((c) => c.healthy)) process.exitCode = 1;
}

function playgroundCheck(): Check {
  const dir = defaultPlaygroundDir();
  const { running, progress } = playgroundState(dir);
  const name = "playground";
  if (running && progress?.ready) return { name, healthy: true, detail: `running, state in ${dir}` };
  if (running) return { name, healthy: false, detail: `starting (${progress?.step ?? "supervisor"})` };
  if (progress?.error) {
    return {
      name,
      healthy: false,
      detail: `failed: ${progress.error}; logs in ${join(dir, "logs")}; retry with \`${tesseraCommand()} up\``,
    };
  }
  return { name, healthy: false, detail: `not running; start it with \`${tesseraCommand()} up\`` };
}

async function clusterChecks(session: Session, conn: KubeConnection): Promise<Check[]> {
  try {
    const version = await conn.client.request<{ gitVersion: string }>("GET", "/version");
    const checks: Check[] = [
      {
        name: "control plane",
        healthy: true,
        detail: `kube-apiserver ${version.gitVersion} at ${conn.server}`,
      },
    ];
    checks.push(...(await nodeChecks(conn)), await operatorCheck(conn), await addonCheck(conn));
    return checks;
  } catch (error) {
    return [{ name: "control plane", healthy: false, detail: session.explain(error) }];
  }
}

async function nodeChecks(conn: KubeConnection): Promise<Check[]> {
  const nodes = await conn.client.list<V1Node>("v1", "Node");
  if (nodes.items.length === 0) return [{ name: "nodes", healthy: false, detail: "no node is registered" }];
  return nodes.items.map((node) => {
    const ready = node.status?.conditions?.find((c) => c.type === "Ready");
    const detail = ready
      ? `Ready=${ready.status} (${ready.reason ?? "no reason"}${ready.message ? `: ${ready.message}` : ""})`
      : "has not reported Ready yet";
    return { name: `node ${node.metadata!.name}`, healthy: ready?.status === "True", detail };
  });
}

/** The operator is healthy while a replica holds its leader Lease and keeps renewing it. */
async function operatorCheck(conn: KubeConnection): Promise<Check> {
  const name = "operator";
  const lease = await conn.client.find<V1Lease>({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace: OPERATOR_NAMESPACE,
    name: OPERATOR_LEASE,
  });
  const where = `${OPERATOR_NAMESPACE}/${OPERATOR_LEASE}`;
  if (!lease) return { name, healthy: false, detail: `no operator has run here (no leader Lease ${where})` };
  const holder = lease.spec?.holderIdentity;
  const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
  const validMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
  if (!holder) return { name, healthy: false, detail: `no leader: the last one released Lease ${where}` };
  if (Date.now() - renewed > validMs) {
    return {
      name,
      healthy: false,
      detail: `leader ${holder} stopped renewing Lease ${where} ${age(new Date(renewed))} ago`,
    };
  }
  return { name, healthy: true, detail: `leader ${holder}, renewed ${age(new Date(renewed))} ago` };
}

async function addonCheck(conn: KubeConnection): Promise<Check> {
  const name = "addons";
  try {
    const addons = (await AddonCatalog.load(conn.client, conn.server)).addons();
    return addons.length
      ? { name, healthy: true, detail: addons.map((a) => a.name).join(", ") }
      : { name, healthy: false, detail: "none installed; `tessera install` installs the bundled ones" };
  } catch (error) {
    return { name, healthy: false, detail: (error as Error).message };
  }
}
