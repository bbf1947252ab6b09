import { join } from "node:path";
import type { TestNodeFactory } from "@tessera/testing";
import { HostletProcess } from "./process.js";
import { installHostletPrerequisites } from "./setup.js";

export interface TestHostletOptions {
  /** CrashLoopBackOff base delay in ms (the kubelet's 10 s makes restart tests slow). */
  restartBackoffMs?: number;
}

/** A hostlet node for a TestCluster: `TestCluster.start({ node: hostletNode() })`. */
export function hostletNode(settings: TestHostletOptions = {}): TestNodeFactory<HostletProcess> {
  return async ({ dir, plane, client, slot }) => {
    await installHostletPrerequisites(client, { soleNode: slot.nodeName });
    const node = new HostletProcess(
      {
        nodeName: slot.nodeName,
        kubeconfig: await plane.writeKubeconfig(join(dir, "hostlet.kubeconfig"), {
          user: `system:node:${slot.nodeName}`,
          groups: ["system:nodes"],
        }),
        stateDir: join(dir, "hostlet"),
        caCertPath: plane.caCertPath,
        caKeyPath: join(dir, "pki", "ca.key"),
        podCIDR: slot.podCIDR,
        serviceCIDR: slot.serviceCIDR,
        logFile: join(dir, "logs", "hostlet.log"),
        restartBackoffMs: settings.restartBackoffMs,
      },
      client,
    );
    try {
      await node.start();
    } catch (error) {
      await node.cleanup();
      throw error;
    }
    return node;
  };
}
