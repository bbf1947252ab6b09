import { parseQuantity } from "@tessera/base";
import type { ClusterSpec, ResourceRequirements, VolumeClaimTemplate } from "@tessera/api";
import { quotedList } from "../definitions.js";

/**
 * One set of instances sharing resources and claims: a component, or an
 * instance template of it. Identity (`component`, `template`) stays the same
 * across updates; `path` is where the scope sits in this spec.
 */
export interface InstanceScope {
  component: string;
  template?: string;
  path: string;
  /** What the scope's pods run with: a template's resources replace the component's. */
  resources?: ResourceRequirements;
  /** Whether `resources` is written in this scope (not inherited from the component). */
  ownResources: boolean;
  /** The claims of the scope's pods with the path each one is written at. */
  claims: { claim: VolumeClaimTemplate; path: string }[];
}

/** Every component of a spec, then every instance template, as the InstanceSet builds their pods. */
export function instanceScopes(spec: ClusterSpec): InstanceScope[] {
  const scopes: InstanceScope[] = [];
  spec.componentSpecs.forEach((component, i) => {
    const path = `spec.componentSpecs[${i}]`;
    const claims = (component.volumeClaimTemplates ?? []).map((claim, j) => ({
      claim,
      path: `${path}.volumeClaimTemplates[${j}]`,
    }));
    scopes.push({
      component: component.name,
      path,
      resources: component.resources,
      ownResources: true,
      claims,
    });
    (component.instances ?? []).forEach((template, k) => {
      const templatePath = `${path}.instances[${k}]`;
      const overrides = template.volumeClaimTemplates ?? [];
      scopes.push({
        component: component.name,
        template: template.name,
        path: templatePath,
        resources: template.resources ?? component.resources,
        ownResources: template.resources !== undefined,
        // A template overrides claims by name; names the component lacks are refused elsewhere.
        claims: claims.map((base) => {
          const j = overrides.findIndex((o) => o.name === base.claim.name);
          return j < 0 ? base : { claim: overrides[j]!, path: `${templatePath}.volumeClaimTemplates[${j}]` };
        }),
      });
    });
  });
  return scopes;
}

/** The same scope in another version of the spec. */
export function sameScope(scopes: InstanceScope[], scope: InstanceScope): InstanceScope | undefined {
  return scopes.find((s) => s.component === scope.component && s.template === scope.template);
}

/**
 * What the scheduler counts for a resource: the request, or the limit when
 * no request is set (Kubernetes defaults the one to the other).
 */
export function effectiveRequest(
  scope: InstanceScope,
  name: string,
): { value: string | number; field: string; fromLimit: boolean } | undefined {
  const requested = scope.resources?.requests?.[name];
  if (requested !== undefined) return { value: requested, field: `requests.${name}`, fromLimit: false };
  const limit = scope.resources?.limits?.[name];
  if (limit !== undefined) return { value: limit, field: `limits.${name}`, fromLimit: true };
  return undefined;
}

/** Requests above limits, which Kubernetes would refuse only when the pod is created. */
export function resourceErrors(spec: ClusterSpec): string[] {
  const errors: string[] = [];
  for (const scope of instanceScopes(spec)) {
    if (!scope.ownResources) continue;
    const { requests = {}, limits = {} } = scope.resources ?? {};
    for (const [name, requested] of Object.entries(requests)) {
      const limit = limits[name];
      if (limit === undefined || parseQuantity(requested) <= parseQuantity(limit)) continue;
      errors.push(
        `${scope.path}.resources.requests.${name}: ${requested} is above the limit ${limit}; lower the request or raise resources.limits.${name}`,
      );
    }
  }
  return errors;
}

/** Template claims override the component's by name, so a name the component lacks would be ignored. */
export function templateClaimErrors(spec: ClusterSpec): string[] {
  const errors: string[] = [];
  spec.componentSpecs.forEach((component, i) => {
    const names = (component.volumeClaimTemplates ?? []).map((v) => v.name);
    (component.instances ?? []).forEach((template, k) => {
      (template.volumeClaimTemplates ?? []).forEach((claim, j) => {
        if (names.includes(claim.name)) return;
        errors.push(
          `spec.componentSpecs[${i}].instances[${k}].volumeClaimTemplates[${j}].name: "${claim.name}" is not a volume claim template of component "${component.name}"; override one of ${quotedList(names)}`,
        );
      });
    });
  });
  return errors;
}
