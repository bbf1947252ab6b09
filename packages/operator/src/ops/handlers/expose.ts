import type { V1Service } from "@kubernetes/client-node";
import type { ExposedService, ExposeSpec, OpsStep } from "@tessera/api";
import { quotedList, type ResolvedCluster } from "../../definitions.js";
import { names } from "../../naming.js";
import { componentSpec, entryFor, sectionErrors, writeComponent } from "../cluster-spec.js";
import type { OpsHandler, StepContext, StepOutcome } from "../handler.js";

function definitionOf(resolved: ResolvedCluster, component: string) {
  return resolved.components.find((c) => c.name === component)?.compDef;
}

/** The component's exposed services once the entry is applied to those it has. */
export function exposedAfter(current: ExposedService[], entry: ExposeSpec): ExposedService[] {
  const listed = new Set(entry.services.map((s) => s.name));
  const kept = current.filter((s) => !listed.has(s.name));
  if (entry.switch === "Disable") return kept;
  return [
    ...kept,
    ...entry.services.map((s): ExposedService => ({
      name: s.name,
      serviceType: s.serviceType!,
      ...(s.roleSelector ? { roleSelector: s.roleSelector } : {}),
    })),
  ];
}

function entryErrors(
  entry: ExposeSpec,
  path: string,
  exposed: ExposedService[],
  resolved: ResolvedCluster,
): string[] {
  const compDef = definitionOf(resolved, entry.componentName);
  if (!compDef) return [];
  const errors: string[] = [];
  const defined = (compDef.spec.services ?? []).map((s) => s.name);
  const roles = (compDef.spec.roles ?? []).map((r) => r.name);
  if (entry.switch === "Enable" && !defined.length)
    errors.push(
      `${path}.componentName: ComponentDefinition "${compDef.metadata.name}" of component ${entry.componentName} declares no service, so no ports to expose`,
    );
  entry.services.forEach((service, j) => {
    const field = `${path}.services[${j}]`;
    if (entry.services.findIndex((s) => s.name === service.name) !== j)
      errors.push(`${field}.name: "${service.name}" is listed twice; list it once`);
    if (entry.switch === "Disable") {
      if (!exposed.some((s) => s.name === service.name))
        errors.push(
          `${field}.name: component ${entry.componentName} exposes no service "${service.name}"; exposed: ${quotedList(exposed.map((s) => s.name))}`,
        );
      return;
    }
    if (defined.includes(service.name))
      errors.push(
        `${field}.name: "${service.name}" is a service of ComponentDefinition "${compDef.metadata.name}"; choose another name`,
      );
    if (!service.serviceType)
      errors.push(`${field}.serviceType: required to Enable; NodePort or LoadBalancer`);
    if (service.roleSelector !== undefined && !roles.includes(service.roleSelector))
      errors.push(
        `${field}.roleSelector: ComponentDefinition "${compDef.metadata.name}" has no role "${service.roleSelector}"; roles: ${quotedList(roles)}`,
      );
  });
  return errors;
}

/** Where one service stands against what the entry asks; undefined once it is as asked. */
function pending(
  service: V1Service | undefined,
  wanted: ExposeSpec["services"][number],
  enable: boolean,
): string | undefined {
  if (!enable) return service ? "being removed" : undefined;
  if (!service || service.metadata?.deletionTimestamp) return "being created";
  if (service.spec?.type !== wanted.serviceType) return `becoming ${wanted.serviceType}`;
  if (!service.spec?.ports?.every((p) => p.nodePort)) return "waiting for its node ports";
  return undefined;
}

/** `name (NodePort 31234→7000)`: what a client reaches it on. */
function describe(service: V1Service): string {
  const ports = (service.spec?.ports ?? []).map((p) => `${p.nodePort}→${p.port}`).join(", ");
  return `${service.metadata!.name} (${service.spec?.type} ${ports})`;
}

/**
 * Expose: each entry adds (Enable) or removes (Disable) Services of one
 * component. They are recorded on the Cluster's component
 * (componentSpecs[].services), so the Component controller keeps them as it
 * keeps the definition's services, owned by the Component (they go with the
 * cluster), and deletes one once it leaves the list. Done once each Service
 * exists with its type and node ports, or is gone. Not cancellable: it is one
 * write, and another Expose puts it back.
 */
export const expose: OpsHandler = {
  type: "Expose",
  cancellable: false,

  validate(op, cluster, resolved) {
    const entries = op.spec.expose;
    if (!entries?.length)
      return ["spec.expose: list the components and, for each, the services to Enable or Disable"];
    const errors = sectionErrors(cluster, "expose", entries);
    entries.forEach((entry, i) => {
      const spec = componentSpec(cluster, entry.componentName);
      if (spec) errors.push(...entryErrors(entry, `spec.expose[${i}]`, spec.services ?? [], resolved));
    });
    return errors;
  },

  precondition() {
    return undefined;
  },

  plan(op) {
    return {
      steps: (op.spec.expose ?? []).map((entry): OpsStep => ({
        name: `${entry.switch === "Enable" ? "expose" : "unexpose"} ${entry.componentName}`,
        component: entry.componentName,
        phase: "Pending",
      })),
    };
  },

  async execute(step, { op, view, ctx }: StepContext): Promise<StepOutcome> {
    const name = step.component!;
    const entry = entryFor(op.spec.expose, name)!;
    const spec = componentSpec(view.cluster, name)!;
    const services = exposedAfter(spec.services ?? [], entry);
    await writeComponent(ctx, view.cluster, name, { services: services.length ? services : undefined });
    const full = names.component(view.cluster.metadata.name!, name);
    const enable = entry.switch === "Enable";
    const states = await Promise.all(
      entry.services.map(async (wanted) => {
        const service = await ctx.client.find<V1Service>({
          apiVersion: "v1",
          kind: "Service",
          namespace: view.cluster.metadata.namespace,
          name: names.service(full, wanted.name),
        });
        return { service, waiting: pending(service, wanted, enable), wanted };
      }),
    );
    const waiting = states.filter((s) => s.waiting);
    if (waiting.length)
      return {
        state: "running",
        message: waiting.map((s) => `${names.service(full, s.wanted.name)} ${s.waiting}`).join("; "),
        instances: [],
      };
    return {
      state: "done",
      message: enable
        ? `exposed ${states.map((s) => describe(s.service!)).join(", ")}`
        : `removed ${states.map((s) => names.service(full, s.wanted.name)).join(", ")}`,
      instances: [],
    };
  },
};
