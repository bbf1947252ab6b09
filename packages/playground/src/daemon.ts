// The playground supervisor: started detached by `tessera up`, it owns every
// playground process (they die with it) and reports progress in a file.
import { Command } from "commander";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { errorMessage, loadKubeConfig } from "@tessera/kube";
import { WEB_DIST, consoleServer } from "@tessera/console";
import { Playground } from "./playground.js";
import { clearPidFile, writePidFile, writeProgress } from "./daemon-files.js";

const { dir, ...network } = new Command("tessera-playground")
  .requiredOption("--dir <dir>", "playground state directory")
  .option("--node-name <name>", "name of the playground's node")
  .option("--pod-cidr <cidr>", "loopback range for pod IPs")
  .option("--service-cidr <cidr>", "loopback range for Service ClusterIPs")
  .parse()
  .opts<{ dir: string; nodeName?: string; podCidr?: string; serviceCidr?: string }>();

writePidFile(dir);
const started = Date.now();
try {
  const playground = await Playground.start({
    dir,
    network: { nodeName: network.nodeName, podCIDR: network.podCidr, serviceCIDR: network.serviceCidr },
    onStep: (step) => writeProgress(dir, { step, startedAt: started }),
  });
  // The web console runs in this process, so it stops with the playground; only once its app is built.
  const webConsole = existsSync(join(WEB_DIST, "index.html"))
    ? consoleServer({
        kubeConfig: loadKubeConfig(playground.kubeconfig),
        prometheusURL: playground.prometheus.url,
      })
    : undefined;
  const consoleURL = await webConsole?.listen({ host: "127.0.0.1", port: 0 });
  writeProgress(dir, {
    step: "ready",
    ready: true,
    kubeconfig: playground.kubeconfig,
    prometheusURL: playground.prometheus.url,
    consoleURL,
    startedAt: started,
    readyAt: Date.now(),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    writeProgress(dir, { step: "stopping", startedAt: started });
    await webConsole?.close();
    await playground.stop();
    clearPidFile(dir);
    writeProgress(dir, { step: "stopped", startedAt: started });
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
} catch (error) {
  writeProgress(dir, { step: "failed", error: errorMessage(error), startedAt: started });
  clearPidFile(dir);
  process.exit(1);
}
