import { mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeClient, loadKubeConfig } from "@tessera/kube";
import { installHostletPrerequisites } from "@tessera/hostlet";
import { findAddons, installAddon, installCrds, loadAddon, DEFAULT_ADDON_NAMESPACE } from "@tessera/operator";
import { ControlPlane, SERVICE_CIDR } from "./control-plane.js";
import { HostletProcess } from "./hostlet-process.js";
import { OperatorProcess } from "./operator-process.js";

export const PLAYGROUND_NODE = "tessera-node";
export const PLAYGROUND_POD_CIDR = "127.1.0.0/16";
/** The addons shipped in this repository. */
export const BUNDLED_ADDONS = fileURLToPath(new URL("../../../addons/", import.meta.url));

export function defaultPlaygroundDir(): string {
  return process.env.TESSERA_HOME
    ? join(process.env.TESSERA_HOME, "playground")
    : join(homedir(), ".tessera", "playground");
}

export const PLAYGROUND_STEPS = [
  "control plane (etcd, kube-apiserver, controller-manager, scheduler)",
  "CRDs and cluster objects",
  "addons",
  "node (hostlet)",
  "operator",
] as const;

export interface PlaygroundOptions {
  dir: string;
  addonsDir?: string;
  onStep?: (step: (typeof PLAYGROUND_STEPS)[number]) => void;
}

/**
 * The whole local stack in one object: a real control plane, Tessera's CRDs
 * and bundled addons, a hostlet node and the operator. State (etcd data,
 * certificates, volumes) lives under `dir` and survives stop/start.
 */
export class Playground {
  private constructor(
    readonly dir: string,
    readonly plane: ControlPlane,
    readonly client: KubeClient,
    readonly hostlet: HostletProcess,
    readonly operator: OperatorProcess,
  ) {}

  get kubeconfig(): string {
    return this.plane.adminKubeconfigPath;
  }

  static async start(options: PlaygroundOptions): Promise<Playground> {
    const { dir } = options;
    const step = options.onStep ?? (() => undefined);
    mkdirSync(join(dir, "logs"), { recursive: true });
    step(PLAYGROUND_STEPS[0]);
    const plane = await ControlPlane.start({
      dir: join(dir, "control-plane"),
      controllerManager: true,
      scheduler: true,
    });
    const client = new KubeClient(loadKubeConfig(plane.adminKubeconfigPath));
    let hostlet: HostletProcess | undefined;
    try {
      step(PLAYGROUND_STEPS[1]);
      await client.apply(
        { apiVersion: "v1", kind: "Namespace", metadata: { name: DEFAULT_ADDON_NAMESPACE } },
        "tessera-playground",
      );
      await installCrds(client);
      await installHostletPrerequisites(client);
      step(PLAYGROUND_STEPS[2]);
      for (const addon of findAddons(options.addonsDir ?? BUNDLED_ADDONS))
        await installAddon(client, loadAddon(addon));
      step(PLAYGROUND_STEPS[3]);
      const nodeKubeconfig = await plane.writeKubeconfig(join(dir, "hostlet.kubeconfig"), {
        user: `system:node:${PLAYGROUND_NODE}`,
        groups: ["system:nodes"],
      });
      hostlet = new HostletProcess(
        {
          nodeName: PLAYGROUND_NODE,
          kubeconfig: nodeKubeconfig,
          stateDir: join(dir, "hostlet"),
          caCertPath: plane.caCertPath,
          caKeyPath: join(dir, "control-plane", "pki", "ca.key"),
          podCIDR: PLAYGROUND_POD_CIDR,
          serviceCIDR: SERVICE_CIDR,
          logFile: join(dir, "logs", "hostlet.log"),
        },
        client,
      );
      await hostlet.start();
      step(PLAYGROUND_STEPS[4]);
      const operator = await OperatorProcess.start({
        kubeconfig: plane.adminKubeconfigPath,
        logDir: join(dir, "logs"),
      });
      return new Playground(dir, plane, client, hostlet, operator);
    } catch (error) {
      await hostlet?.cleanup();
      client.close();
      await plane.stop();
      throw error;
    }
  }

  /** Stops everything; data stays in the state directory. */
  async stop(): Promise<void> {
    await this.operator.stop();
    await this.hostlet.cleanup();
    this.client.close();
    await this.plane.stop();
  }
}
