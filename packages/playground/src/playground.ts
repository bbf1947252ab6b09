import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeClient, loadKubeConfig } from "@tessera/kube";
import { HostletProcess, installHostletPrerequisites } from "@tessera/hostlet";
import {
  BUNDLED_ADDONS,
  DEFAULT_ADDON_NAMESPACE,
  findAddons,
  installAddon,
  installCrds,
  installTenantRoles,
  loadAddon,
} from "@tessera/addons";
import { ControlPlane, SERVICE_CIDR } from "@tessera/control-plane";
import { OperatorProcess } from "./operator-process.js";
import { monitoringRuleFiles } from "./monitoring/config.js";
import { MONITORING_USER, PrometheusServer, grantMonitoringAccess } from "./monitoring/prometheus.js";

export const PLAYGROUND_NODE = "tessera-node";
export const PLAYGROUND_POD_CIDR = "127.1.0.0/16";

/** Where the playground's node runs pods and routes services; fixed for the life of a state directory. */
export interface PlaygroundNetwork {
  nodeName: string;
  podCIDR: string;
  serviceCIDR: string;
}

export const DEFAULT_PLAYGROUND_NETWORK: PlaygroundNetwork = {
  nodeName: PLAYGROUND_NODE,
  podCIDR: PLAYGROUND_POD_CIDR,
  serviceCIDR: SERVICE_CIDR,
};

/** The network recorded in a state directory, if a playground was ever started there. */
export function readPlaygroundNetwork(dir: string): PlaygroundNetwork | undefined {
  const file = join(dir, "network.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as PlaygroundNetwork) : undefined;
}

/**
 * The network of a state directory: the recorded one (certificates and etcd
 * data depend on it), else the requested one over the defaults, recorded.
 */
function settlePlaygroundNetwork(dir: string, requested: Partial<PlaygroundNetwork> = {}): PlaygroundNetwork {
  const recorded = readPlaygroundNetwork(dir);
  if (recorded) {
    for (const [key, value] of Object.entries(requested) as [keyof PlaygroundNetwork, string][]) {
      if (value !== undefined && recorded[key] !== value)
        throw new Error(
          `the playground in ${dir} was created with ${key} ${recorded[key]}, not ${value}; purge it to change its network`,
        );
    }
    return recorded;
  }
  const network: PlaygroundNetwork = {
    nodeName: requested.nodeName ?? DEFAULT_PLAYGROUND_NETWORK.nodeName,
    podCIDR: requested.podCIDR ?? DEFAULT_PLAYGROUND_NETWORK.podCIDR,
    serviceCIDR: requested.serviceCIDR ?? DEFAULT_PLAYGROUND_NETWORK.serviceCIDR,
  };
  writeFileSync(join(dir, "network.json"), JSON.stringify(network));
  return network;
}

export const PLAYGROUND_STEPS = [
  "control plane (etcd, kube-apiserver, controller-manager, scheduler)",
  "CRDs and cluster objects",
  "addons",
  "node (hostlet)",
  "operator",
  "monitoring (Prometheus)",
] as const;

export interface PlaygroundOptions {
  dir: string;
  addonsDir?: string;
  /** Node name, pod and service ranges (defaults: DEFAULT_PLAYGROUND_NETWORK); remembered in `dir`. */
  network?: Partial<PlaygroundNetwork>;
  onStep?: (step: (typeof PLAYGROUND_STEPS)[number]) => void;
}

/**
 * The whole local stack in one object: a real control plane, Tessera's CRDs
 * and bundled addons, a hostlet node, the operator and a Prometheus with the
 * addons' alerting rules. State (etcd data, certificates, volumes, metrics
 * for 24 hours) lives under `dir` and survives stop/start.
 */
export class Playground {
  private constructor(
    readonly dir: string,
    readonly plane: ControlPlane,
    readonly client: KubeClient,
    readonly hostlet: HostletProcess,
    readonly operator: OperatorProcess,
    readonly prometheus: PrometheusServer,
  ) {}

  get kubeconfig(): string {
    return this.plane.adminKubeconfigPath;
  }

  static async start(options: PlaygroundOptions): Promise<Playground> {
    const { dir } = options;
    const step = options.onStep ?? (() => undefined);
    mkdirSync(join(dir, "logs"), { recursive: true });
    const network = settlePlaygroundNetwork(dir, options.network);
    step(PLAYGROUND_STEPS[0]);
    const plane = await ControlPlane.start({
      dir: join(dir, "control-plane"),
      controllerManager: true,
      scheduler: true,
      serviceCIDR: network.serviceCIDR,
    });
    const client = new KubeClient(loadKubeConfig(plane.adminKubeconfigPath));
    let hostlet: HostletProcess | undefined;
    let operator: OperatorProcess | undefined;
    try {
      step(PLAYGROUND_STEPS[1]);
      await client.apply(
        { apiVersion: "v1", kind: "Namespace", metadata: { name: DEFAULT_ADDON_NAMESPACE } },
        "tessera-playground",
      );
      await installCrds(client);
      await installTenantRoles(client);
      await installHostletPrerequisites(client, { soleNode: network.nodeName });
      step(PLAYGROUND_STEPS[2]);
      const addons = findAddons(options.addonsDir ?? BUNDLED_ADDONS);
      for (const addon of addons) await installAddon(client, loadAddon(addon));
      step(PLAYGROUND_STEPS[3]);
      const nodeKubeconfig = await plane.writeKubeconfig(join(dir, "hostlet.kubeconfig"), {
        user: `system:node:${network.nodeName}`,
        groups: ["system:nodes"],
      });
      hostlet = new HostletProcess(
        {
          nodeName: network.nodeName,
          kubeconfig: nodeKubeconfig,
          stateDir: join(dir, "hostlet"),
          caCertPath: plane.caCertPath,
          caKeyPath: join(dir, "control-plane", "pki", "ca.key"),
          podCIDR: network.podCIDR,
          serviceCIDR: network.serviceCIDR,
          logFile: join(dir, "logs", "hostlet.log"),
        },
        client,
      );
      await hostlet.start();
      step(PLAYGROUND_STEPS[4]);
      operator = await OperatorProcess.start({
        kubeconfig: plane.adminKubeconfigPath,
        logDir: join(dir, "logs"),
      });
      step(PLAYGROUND_STEPS[5]);
      await grantMonitoringAccess(client, "tessera-playground");
      const prometheus = await PrometheusServer.start({
        dir: join(dir, "prometheus"),
        logFile: join(dir, "logs", "prometheus.log"),
        kubeconfig: await plane.writeKubeconfig(join(dir, "monitoring.kubeconfig"), {
          user: MONITORING_USER,
          groups: [],
        }),
        operatorTargets: [`127.0.0.1:${operator.metricsPort}`],
        ruleFiles: monitoringRuleFiles(addons),
      });
      return new Playground(dir, plane, client, hostlet, operator, prometheus);
    } catch (error) {
      await operator?.stop();
      await hostlet?.cleanup();
      client.close();
      await plane.stop();
      throw error;
    }
  }

  /** Stops everything; data stays in the state directory. */
  async stop(): Promise<void> {
    await this.prometheus.stop();
    await this.operator.stop();
    await this.hostlet.cleanup();
    this.client.close();
    await this.plane.stop();
  }
}
