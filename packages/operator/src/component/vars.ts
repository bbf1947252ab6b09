import type { V1EnvVar } from "@kubernetes/client-node";
import { matchesDefinition, type Component, type ComponentDefinition, type ComponentVar } from "@tessera/api";
import { componentFacts } from "../actions/contract/index.js";
import { desiredInstances } from "../instanceset/plan.js";
import { names } from "../naming.js";

/** A component of the same cluster, as seen by var resolution. */
export interface SiblingComponent {
  /** Short name in the cluster (the topology's component name). */
  shortName: string;
  component: Pick<Component, "metadata" | "spec">;
  compDef: ComponentDefinition;
}

export interface VarContext {
  cluster: string;
  namespace: string;
  self: SiblingComponent;
  siblings: SiblingComponent[];
}

export interface ResolvedVars {
  /** Non-secret values: pod environment (through a ConfigMap), templates and actions. */
  plain: Record<string, string>;
  /** Credentials: only ever passed as Secret references. */
  secretEnv: V1EnvVar[];
}

export class VarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VarError";
  }
}

/** Expands $(NAME) references to already resolved values; unknown ones stay as written. */
export function expandReferences(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string) => vars[name] ?? match);
}

/** Facts every component gets, whatever its definition declares. */
export function builtinVars(ctx: VarContext): Record<string, string> {
  const full = ctx.self.component.metadata.name!;
  const headless = names.headlessService(names.instanceSet(full));
  const pods = desiredInstances(names.instanceSet(full), ctx.self.component.spec).map((i) => i.name);
  return componentFacts({
    cluster: ctx.cluster,
    namespace: ctx.namespace,
    shortName: ctx.self.shortName,
    fullName: full,
    headlessService: headless,
    pods,
  });
}

function target(ctx: VarContext, compDef: string | undefined, varName: string): SiblingComponent {
  if (!compDef) return ctx.self;
  const found = [ctx.self, ...ctx.siblings].find((s) => matchesDefinition(s.compDef.metadata.name!, compDef));
  if (!found) {
    throw new VarError(
      `var ${varName}: no component of cluster ${ctx.cluster} uses a ComponentDefinition matching "${compDef}"`,
    );
  }
  return found;
}

function resolveOne(v: ComponentVar, ctx: VarContext, plain: Record<string, string>): string | V1EnvVar {
  if (v.value !== undefined) return expandReferences(v.value, plain);
  const from = v.valueFrom;
  if (from?.credentialVarRef) {
    const ref = from.credentialVarRef;
    const owner = target(ctx, ref.compDef, v.name);
    if (!owner.compDef.spec.systemAccounts?.some((a) => a.name === ref.name)) {
      throw new VarError(`var ${v.name}: component ${owner.shortName} has no system account "${ref.name}"`);
    }
    return {
      name: v.name,
      valueFrom: {
        secretKeyRef: {
          name: names.accountSecret(owner.component.metadata.name!, ref.name),
          key: ref.username ? "username" : "password",
        },
      },
    };
  }
  if (from?.serviceVarRef) {
    const ref = from.serviceVarRef;
    const owner = target(ctx, ref.compDef, v.name);
    const service = owner.compDef.spec.services?.find((s) => s.name === ref.name);
    if (!service)
      throw new VarError(`var ${v.name}: component ${owner.shortName} has no service "${ref.name}"`);
    if (ref.port) {
      const port = service.spec.ports.find((p) => p.name === ref.port);
      if (!port) throw new VarError(`var ${v.name}: service ${ref.name} has no port named "${ref.port}"`);
      return String(port.port);
    }
    return names.service(owner.component.metadata.name!, service.name);
  }
  if (from?.componentVarRef) {
    const ref = from.componentVarRef;
    const owner = target(ctx, ref.compDef, v.name);
    const full = owner.component.metadata.name!;
    const headless = names.headlessService(names.instanceSet(full));
    const pods = desiredInstances(names.instanceSet(full), owner.component.spec).map((i) => i.name);
    switch (ref.field) {
      case "name":
        return full;
      case "shortName":
        return owner.shortName;
      case "replicas":
        return String(pods.length);
      case "podNames":
        return pods.join(",");
      case "podFQDNs":
        return pods.map((p) => names.podFQDN(p, headless, ctx.namespace)).join(",");
      case "headlessService":
        return headless;
    }
  }
  throw new VarError(`var ${v.name}: needs a value or a valueFrom source`);
}

/** Resolves a definition's vars in order, so later vars may reference earlier ones. */
export function resolveVars(ctx: VarContext): ResolvedVars {
  const plain = builtinVars(ctx);
  const secretEnv: V1EnvVar[] = [];
  for (const v of ctx.self.compDef.spec.vars ?? []) {
    try {
      const value = resolveOne(v, ctx, plain);
      if (typeof value === "string") plain[v.name] = value;
      else secretEnv.push(value);
    } catch (error) {
      if (!v.optional) throw error;
      plain[v.name] = "";
    }
  }
  return { plain, secretEnv };
}
