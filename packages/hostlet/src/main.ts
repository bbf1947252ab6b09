import { readFileSync } from "node:fs";
import { Command } from "commander";
import { createLogger, errorMessage } from "@tessera/kube";
import { DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, Hostlet } from "./hostlet.js";

const program = new Command()
  .name("hostlet")
  .description("A Kubernetes node agent that runs pods as sandboxed host processes")
  .requiredOption("--kubeconfig <path>", "kubeconfig of the node identity (system:node:<name>)")
  .requiredOption("--node-name <name>", "name of the Node to register")
  .requiredOption("--state-dir <dir>", "directory for pod state, logs and local volumes")
  .requiredOption("--ca-cert <file>", "cluster CA certificate (verifies kubelet API clients)")
  .requiredOption("--ca-key <file>", "cluster CA key (issues the kubelet serving certificate)")
  .option("--pod-cidr <cidr>", "pod IP range", DEFAULT_POD_CIDR)
  .option("--service-cidr <cidr>", "the control plane's service IP range", DEFAULT_SERVICE_CIDR)
  .option(
    "--kubelet-port <port>",
    "kubelet API port (default: chosen once, kept in the state directory)",
    Number,
  )
  .option("--image-catalog <file...>", "extra image catalog files, consulted first")
  .option(
    "--restart-backoff <ms>",
    "CrashLoopBackOff base delay, capped at 30 times it (default 10000)",
    Number,
  )
  .parse();

const flags = program.opts<{
  kubeconfig: string;
  nodeName: string;
  stateDir: string;
  caCert: string;
  caKey: string;
  podCidr: string;
  serviceCidr: string;
  kubeletPort?: number;
  imageCatalog?: string[];
  restartBackoff?: number;
}>();

const logger = createLogger("hostlet");
try {
  const hostlet = await Hostlet.start({
    kubeconfig: flags.kubeconfig,
    nodeName: flags.nodeName,
    stateDir: flags.stateDir,
    podCIDR: flags.podCidr,
    serviceCIDR: flags.serviceCidr,
    ca: { certPem: readFileSync(flags.caCert, "utf8"), keyPem: readFileSync(flags.caKey, "utf8") },
    kubeletPort: flags.kubeletPort,
    imageCatalogs: flags.imageCatalog,
    restartBackoff: flags.restartBackoff
      ? { baseMs: flags.restartBackoff, maxMs: flags.restartBackoff * 30, resetAfterMs: 600_000 }
      : undefined,
    logger,
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    hostlet.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: errorMessage(error) }, "unclean stop");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
} catch (error) {
  logger.fatal({ err: errorMessage(error) }, "hostlet failed to start");
  process.exit(1);
}
