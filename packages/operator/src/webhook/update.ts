import { isQuantity, parseQuantity } from "@tessera/base";
import type { ClusterSpec } from "@tessera/api";
import { instanceScopes, sameScope } from "./resources.js";

const was = (value: string | undefined) => (value ? `"${value}"` : "unset");

/**
 * What an existing cluster may not change. The ClusterDefinition and the
 * topology fix the set of components (a cluster without a ClusterDefinition
 * keeps the components it was created with): components are
 * provisioned in the topology's order and wired to each other, so adding or
 * removing one means a new cluster. A component's volume claim templates
 * are fixed too (existing pods cannot gain or lose a volume), and so is
 * every claim's StorageClass (data cannot move between classes in place).
 */
export function updateErrors(spec: ClusterSpec, old: ClusterSpec): string[] {
  const errors: string[] = [];
  if ((spec.clusterDef ?? "") !== (old.clusterDef ?? "")) {
    errors.push(
      `spec.clusterDef: is immutable (was ${was(old.clusterDef)}); create a new cluster to use another ClusterDefinition`,
    );
  }
  if ((spec.topology ?? "") !== (old.topology ?? "")) {
    errors.push(
      `spec.topology: is immutable (was ${was(old.topology)}); create a new cluster with the topology you want`,
    );
  }
  errors.push(...componentSetErrors(spec, old), ...claimErrors(spec, old));
  return [...new Set(errors)];
}

function componentSetErrors(spec: ClusterSpec, old: ClusterSpec): string[] {
  const errors: string[] = [];
  for (const component of old.componentSpecs) {
    if (spec.componentSpecs.some((c) => c.name === component.name)) continue;
    errors.push(
      `spec.componentSpecs: component "${component.name}" cannot be removed from an existing cluster (its topology fixes the components); keep it, or create a new cluster without it`,
    );
  }
  spec.componentSpecs.forEach((component, i) => {
    const before = old.componentSpecs.find((c) => c.name === component.name);
    if (!before) {
      errors.push(
        `spec.componentSpecs[${i}].name: component "${component.name}" cannot be added to an existing cluster (its topology fixes the components); remove it, or create a new cluster with it`,
      );
      return;
    }
    const names = (component.volumeClaimTemplates ?? []).map((v) => v.name);
    const oldNames = (before.volumeClaimTemplates ?? []).map((v) => v.name);
    for (const name of oldNames.filter((n) => !names.includes(n))) {
      errors.push(
        `spec.componentSpecs[${i}].volumeClaimTemplates: volume claim template "${name}" cannot be removed (existing instances keep their data on it); keep it`,
      );
    }
    names.forEach((name, j) => {
      if (oldNames.includes(name)) return;
      errors.push(
        `spec.componentSpecs[${i}].volumeClaimTemplates[${j}].name: volume claim template "${name}" cannot be added to an existing component (existing instances cannot gain a volume); remove it, or create a new cluster with it`,
      );
    });
  });
  return errors;
}

/** StorageClass and size of claims that exist before and after, in every component and instance template. */
function claimErrors(spec: ClusterSpec, old: ClusterSpec): string[] {
  const errors: string[] = [];
  const oldScopes = instanceScopes(old);
  for (const scope of instanceScopes(spec)) {
    const before = sameScope(oldScopes, scope);
    for (const { claim, path } of scope.claims) {
      const previous = before?.claims.find((c) => c.claim.name === claim.name)?.claim;
      if (!previous) continue;
      const className = claim.spec.storageClassName || undefined;
      const previousClass = previous.spec.storageClassName || undefined;
      if (className !== previousClass) {
        errors.push(
          `${path}.spec.storageClassName: is immutable (was ${was(previousClass)}); volumes cannot move to another StorageClass, ${previousClass ? `set it back to "${previousClass}"` : "remove it"}`,
        );
      }
      const size = claim.spec.resources.requests.storage;
      const previousSize = previous.spec.resources.requests.storage;
      // The stored spec predates this request's checks; a size it holds that no longer parses is left alone.
      if (isQuantity(previousSize) && parseQuantity(size) < parseQuantity(previousSize)) {
        errors.push(
          `${path}.spec.resources.requests.storage: volumes cannot shrink (from ${previousSize} to ${size}); keep ${previousSize} or more`,
        );
      }
    }
  }
  return errors;
}
