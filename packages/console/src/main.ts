// The console as a process: `node --import tsx packages/console/src/main.ts --kubeconfig <file>`.
import { Command } from "commander";
import { loadKubeConfig } from "@tessera/kube";
import { consoleServer } from "./server.js";

const opts = new Command("tessera-console")
  .option(
    "--kubeconfig <file>",
    "kubeconfig naming the apiserver users sign in to (its user is not used for them)",
  )
  .option("--prometheus-url <url>", "Prometheus the performance charts read")
  .option("--host <host>", "address to listen on", "127.0.0.1")
  .option("--port <port>", "port to listen on (0 picks a free one)", "8443")
  .parse()
  .opts<{ kubeconfig?: string; prometheusUrl?: string; host: string; port: string }>();

const app = consoleServer({ kubeConfig: loadKubeConfig(opts.kubeconfig), prometheusURL: opts.prometheusUrl });
const address = await app.listen({ host: opts.host, port: Number(opts.port) });
console.log(`console listening on ${address}`);
const stop = () => void app.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
