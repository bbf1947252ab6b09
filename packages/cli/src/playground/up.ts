import { existsSync } from "node:fs";
import { join } from "node:path";
import { defaultPlaygroundDir, playgroundUp } from "@tessera/playground/lifecycle";
import { kubeBinDir, KUBE_VERSION } from "@tessera/control-plane/paths";
import { shellQuote } from "@tessera/api";
import { duration, print } from "../output.js";
import type { Session } from "../session.js";
import { Spinner } from "../spinner.js";
import { ensureDemo } from "./demo.js";
import { tesseraCommand } from "../invocation.js";

export interface UpOptions {
  demo?: boolean;
  timeout: number;
  nodeName?: string;
  podCidr?: string;
  serviceCidr?: string;
}

/** Steps the supervisor reports that are not playground steps of their own. */
const SUPERVISOR_STEPS: Record<string, string | undefined> = {
  starting: "starting the playground supervisor",
  ready: undefined,
  failed: undefined,
};

/**
 * Starts the playground (or finds it running), showing each step as the
 * supervisor reports it, then says how to use it; with --demo also makes
 * sure the demo cluster runs and prints how to connect to it.
 */
export async function up(session: Session, options: UpOptions): Promise<void> {
  if (!existsSync(join(kubeBinDir(), "kube-apiserver"))) {
    throw new Error(
      `the Kubernetes control plane is not built yet (no kube-apiserver in ${kubeBinDir()}); run scripts/setup once (about 5 minutes), or use the repository's ./tessera, which does`,
    );
  }
  const dir = defaultPlaygroundDir();
  const style = session.style;
  let spinner: Spinner | undefined;
  const onStep = (step: string) => {
    const title = step in SUPERVISOR_STEPS ? SUPERVISOR_STEPS[step] : step;
    if (!title) return;
    if (spinner) spinner.next(title);
    else spinner = new Spinner(style, title);
  };
  const network = { nodeName: options.nodeName, podCIDR: options.podCidr, serviceCIDR: options.serviceCidr };
  const result = await playgroundUp(dir, onStep, options.timeout, network).catch((error: unknown) => {
    spinner?.fail();
    throw error;
  });
  spinner?.succeed();
  if (result.alreadyRunning) print(`The playground is already running (state in ${dir}); nothing to start.`);
  else print(`The playground is ready (${duration(result.seconds * 1000)}); its state lives in ${dir}.`);
  const kubectl = join(kubeBinDir(), "kubectl");
  const tessera = tesseraCommand();
  print(
    [
      "",
      `Use it with kubectl (${kubectl} is ${KUBE_VERSION}, the control plane's version):`,
      `  export KUBECONFIG=${shellQuote(result.kubeconfig)}`,
      `  export PATH=${shellQuote(kubeBinDir())}:$PATH`,
      "  kubectl get nodes",
      "",
      ...(result.prometheusURL
        ? [`Prometheus (metrics and alerts of every database): ${result.prometheusURL}`, ""]
        : []),
      ...(result.consoleURL
        ? [
            `Web console: ${result.consoleURL}`,
            `  sign in with the kubeconfig above (an administrator) or a tenant user's from \`${tessera} tenant kubeconfig\``,
            "",
          ]
        : ["The web console's app is not built (scripts/setup builds it), so the playground runs none.", ""]),
    ].join("\n"),
  );
  if (options.demo) {
    await ensureDemo(session, result.kubeconfig, options.timeout);
  } else {
    print(
      `Create a database: ${tessera} cluster create <engine> mydb --wait (engines: \`${tessera} addon list\`)`,
    );
  }
  print(`Stop it with \`${tessera} down\` (data is kept; \`${tessera} down --purge\` deletes it).`);
}
