import { existsSync } from "node:fs";
import { join } from "node:path";
import { print } from "../output.js";
import type { Session } from "../session.js";
import { tesseraCommand } from "../invocation.js";

export interface ConsoleOptions {
  host: string;
  port: string;
  prometheusUrl?: string;
}

/**
 * Prints the address of the playground's console, or serves the web console
 * for the cluster this invocation talks to until interrupted. Users sign in with their own credentials; the console's
 * kubeconfig only names the apiserver and its CA.
 */
export async function runConsole(session: Session, options: ConsoleOptions): Promise<void> {
  const { consoleServer, WEB_DIST } = await import("@tessera/console");
  if (!existsSync(join(WEB_DIST, "index.html")))
    throw new Error(
      "the console's web app is not built: run scripts/setup (or npm run build -w packages/console)",
    );
  const connection = await session.kube();
  let prometheusURL = options.prometheusUrl;
  if (connection.source === "the playground") {
    const { defaultPlaygroundDir, playgroundState } = await import("@tessera/playground/lifecycle");
    const progress = playgroundState(defaultPlaygroundDir()).progress;
    if (progress?.consoleURL) {
      print(
        `The playground's console is at ${progress.consoleURL}\nSign in with the administrator's kubeconfig (${connection.kubeconfig}) or a tenant user's from \`${tesseraCommand()} tenant kubeconfig\`.`,
      );
      return;
    }
    prometheusURL ??= progress?.prometheusURL;
  }
  const app = consoleServer({ kubeConfig: connection.client.kubeConfig, prometheusURL });
  const address = await app.listen({ host: options.host, port: Number(options.port) });
  const signIn =
    connection.source === "the playground" && connection.kubeconfig
      ? `the administrator's kubeconfig (${connection.kubeconfig}) or a tenant user's from \`${tesseraCommand()} tenant kubeconfig\``
      : "a bearer token or a kubeconfig whose user has a token or an inline client certificate";
  print(
    [
      `The console for ${connection.server} is at ${address}`,
      `Sign in with ${signIn}.`,
      prometheusURL
        ? `Performance charts read ${prometheusURL}.`
        : "No Prometheus given (--prometheus-url): no charts.",
      "Stop it with Ctrl-C.",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await app.close();
}
