import { API_VERSION, type ComponentDefinition, type CustomOps } from "@tessera/api";
import { findCluster } from "../cluster/common.js";
import { UsageError } from "../errors.js";
import { print, table } from "../output.js";
import type { Session } from "../session.js";
import { chooseComponent, parseSettings, submit, type OperationOptions } from "./submit.js";

export interface UpgradeOptions extends OperationOptions {
  component?: string;
  version?: string;
  componentDef?: string;
}

export interface RunOpOptions extends OperationOptions {
  component?: string;
  param?: string[];
}

/** --version and/or --component-def of one component make an Upgrade; the webhook checks the move is allowed. */
export function upgradeCluster(session: Session, name: string, options: UpgradeOptions) {
  if (!options.version && !options.componentDef)
    throw new UsageError("nothing to upgrade to: give --version (and/or --component-def)");
  return submit(
    session,
    name,
    async (cluster, conn) => ({
      type: "Upgrade",
      upgrade: [
        {
          componentName: await chooseComponent(conn, cluster, options.component),
          ...(options.version ? { serviceVersion: options.version } : {}),
          ...(options.componentDef ? { componentDef: options.componentDef } : {}),
        },
      ],
    }),
    options,
  );
}

const describeParameters = (ops: CustomOps) =>
  (ops.parameters ?? [])
    .map((p) => `${p.name}${p.required ? "" : "?"}: ${p.type === "enum" ? (p.enum ?? []).join("|") : p.type}`)
    .join(", ") || "-";

/** The operations the component's definition offers, as a table. */
async function listOperations(session: Session, name: string, options: RunOpOptions): Promise<void> {
  const conn = await session.kube();
  const cluster = await findCluster(conn, options.namespace ?? conn.namespace, name);
  const component = await chooseComponent(conn, cluster, options.component);
  const compDef = cluster.status?.components?.[component]?.compDef;
  if (!compDef)
    throw new Error(`component ${component} of cluster ${name} has no ComponentDefinition resolved yet`);
  const definition = await conn.client.get<ComponentDefinition>({
    apiVersion: API_VERSION,
    kind: "ComponentDefinition",
    name: compDef,
  });
  const offered = definition.spec.customOps ?? [];
  if (!offered.length) {
    print(`ComponentDefinition ${compDef} of component ${component} offers no operations`);
    return;
  }
  print(
    table(
      session.style,
      ["OPERATION", "TARGET", "PARAMETERS", "DESCRIPTION"],
      offered.map((o) => [o.name, o.target, describeParameters(o), o.description]),
    ),
  );
}

/**
 * Runs an operation the engine's addon declares (a Custom OpsRequest), each
 * --param one of its parameters; without an operation, lists those offered.
 */
export function runOperation(
  session: Session,
  name: string,
  operation: string | undefined,
  options: RunOpOptions,
) {
  if (!operation) return listOperations(session, name, options);
  const parameters = parseSettings(options.param ?? [], "--param", "database=app");
  return submit(
    session,
    name,
    async (cluster, conn) => ({
      type: "Custom",
      custom: {
        componentName: await chooseComponent(conn, cluster, options.component),
        opsName: operation,
        ...(Object.keys(parameters).length ? { parameters } : {}),
      },
    }),
    options,
  );
}
