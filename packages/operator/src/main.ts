import { Command, Option } from "commander";
import { OPERATOR_NAMESPACE } from "@tessera/api";
import { createLogger, errorMessage } from "@tessera/kube";
import { Operator } from "./operator.js";

const program = new Command("tessera-operator")
  .description("The Tessera operator: runs database clusters declared as Kubernetes objects.")
  .option("--kubeconfig <path>", "kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
  .option("--context <name>", "kubeconfig context")
  .option(
    "--namespace <ns>",
    "namespace of the operator's Lease and webhook certificate",
    process.env.TESSERA_NAMESPACE ?? OPERATOR_NAMESPACE,
  )
  .option("--no-leader-elect", "run controllers without leader election (a single replica only)")
  .option(
    "--leader-elect-lease-duration <seconds>",
    "how long a standby waits before taking over a silent leader",
    "15",
  )
  .option("--metrics-bind-address <host:port>", "address of /metrics, /healthz and /readyz", "127.0.0.1:8080")
  .addOption(
    new Option(
      "--webhook-host <host>",
      "serve the admission webhook on this host and register it by URL (out of cluster)",
    ),
  )
  .addOption(
    new Option(
      "--webhook-service <name>",
      "register the admission webhook through this Service (in cluster)",
    ),
  )
  .option("--webhook-port <port>", "admission webhook port (0 picks a free port)", "9443")
  .parse();

const opts = program.opts<{
  kubeconfig?: string;
  context?: string;
  namespace: string;
  leaderElect: boolean;
  leaderElectLeaseDuration: string;
  metricsBindAddress: string;
  webhookHost?: string;
  webhookService?: string;
  webhookPort: string;
}>();

const logger = createLogger("tessera-operator");
const [metricsHost, metricsPort] = opts.metricsBindAddress.split(/:(?=\d+$)/);
const webhookEndpoint = opts.webhookHost
  ? { host: opts.webhookHost }
  : opts.webhookService
    ? { service: opts.webhookService }
    : undefined;

try {
  const operator = await Operator.start({
    kubeconfig: opts.kubeconfig,
    context: opts.context,
    namespace: opts.namespace,
    leaderElection: opts.leaderElect
      ? { leaseDurationMs: Number(opts.leaderElectLeaseDuration) * 1000 }
      : false,
    metrics: { host: metricsHost ?? "127.0.0.1", port: Number(metricsPort ?? 8080) },
    webhook: webhookEndpoint ? { endpoint: webhookEndpoint, port: Number(opts.webhookPort) } : undefined,
    logger,
  });
  logger.info({ metricsPort: operator.metricsPort }, "operator started");
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await operator.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  await operator.leadershipEnded;
  if (!stopping) {
    logger.error("leadership lost; exiting so a fresh process can campaign again");
    process.exit(1);
  }
} catch (error) {
  logger.fatal({ err: errorMessage(error) }, "operator failed to start");
  process.exit(1);
}
