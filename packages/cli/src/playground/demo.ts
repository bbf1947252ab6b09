import { createConnection } from "node:net";
import { join } from "node:path";
import { passwordCommand, type Cluster } from "@tessera/api";
import { waitFor } from "@tessera/kube";
import { kubeBinDir } from "@tessera/control-plane/paths";
import { AddonCatalog } from "../addons.js";
import { planCluster } from "../cluster-spec.js";
import { clusterRef, waitUntilRunning } from "../cluster/common.js";
import { connectionTarget, type ConnectionTarget } from "../cluster/connect.js";
import { submit } from "../cluster/create.js";
import { renderInvocation, shellLine, shellLineReadingPassword, type Endpoint } from "../connection.js";
import { tesseraCommand } from "../invocation.js";
import { print } from "../output.js";
import type { Session } from "../session.js";
import { Spinner } from "../spinner.js";

/** The cluster `tessera up --demo` creates: highly available PostgreSQL from the bundled addon. */
const DEMO = { engine: "postgresql", name: "demo", namespace: "default", replicas: 3 } as const;

/**
 * Creates the demo cluster unless it exists, waits until it runs and its
 * service accepts connections, then prints how to connect: through the CLI,
 * and as a plain client command that reads the password from its Secret.
 */
export async function ensureDemo(session: Session, kubeconfig: string, timeoutMs: number): Promise<void> {
  const conn = await session.useKubeconfig(kubeconfig, "the playground");
  const style = session.style;
  const { name, namespace } = DEMO;
  if (await conn.client.find<Cluster>(clusterRef(namespace, name))) {
    print(`The demo cluster ${namespace}/${name} exists already.`);
  } else {
    const addons = await AddonCatalog.load(conn.client, conn.server);
    const plan = planCluster(addons, DEMO.engine, name, namespace, { replicas: DEMO.replicas });
    await submit(conn, plan.cluster, false);
    print(`Created the demo cluster ${namespace}/${name}: ${plan.summary}`);
  }
  const cluster = await Spinner.run(style, `waiting for ${name} to be Running`, (spinner) =>
    waitUntilRunning(conn.client, namespace, name, timeoutMs, spinner),
  );
  const target = await connectionTarget(conn, cluster);
  await Spinner.run(
    style,
    `waiting for ${target.endpoint.host}:${target.endpoint.port} to accept connections`,
    () => waitForListener(target.endpoint, timeoutMs),
  );
  const tessera = tesseraCommand();
  print(
    [
      "",
      `The demo cluster is running. Connect with ${target.facts.command[0]}:`,
      `  ${tessera} cluster connect ${name}`,
      `or from any shell${target.account ? " (the password is read from its Secret)" : ""}:`,
      `  ${directCommand(kubeconfig, namespace, target)}`,
      "See its instances, roles and endpoints:",
      `  ${tessera} cluster describe ${name}`,
      "",
    ].join("\n"),
  );
}

/** The client command to paste into a shell; the password, if any, is read from its Secret when it runs. */
function directCommand(kubeconfig: string, namespace: string, target: ConnectionTarget): string {
  if (!target.account) return shellLine(renderInvocation(target.facts, target.endpoint));
  const kubectl = [join(kubeBinDir(), "kubectl"), "--kubeconfig", kubeconfig];
  return shellLineReadingPassword(
    target.facts,
    target.endpoint,
    target.account.username,
    passwordCommand(namespace, target.account.secret, kubectl),
  );
}

/** A service is routed once a TCP connection to its ClusterIP succeeds. */
function waitForListener(endpoint: Endpoint, timeoutMs: number): Promise<true> {
  return waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = createConnection(endpoint, () => {
          socket.destroy();
          resolve(true);
        });
        socket.setTimeout(2000, () => socket.destroy());
        socket.once("error", () => resolve(false));
        socket.once("close", () => resolve(false));
      }),
    { description: `${endpoint.host}:${endpoint.port} to accept connections`, timeoutMs, intervalMs: 500 },
  );
}
