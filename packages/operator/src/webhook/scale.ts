import { API_VERSION } from "@tessera/api";

interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  controller?: boolean;
}

interface Owned {
  metadata?: { ownerReferences?: OwnerReference[] };
}

/** Reads a Tessera object of the namespace, or undefined when it does not exist. */
export type OwnedLookup = (kind: string, name: string) => Promise<Owned | undefined>;

/** Kinds with a scale subresource, by the resource name an admission request carries. */
export const SCALED_KINDS: Readonly<Record<string, string>> = {
  components: "Component",
  instancesets: "InstanceSet",
};

const controllerOf = (object: Owned | undefined) =>
  object?.metadata?.ownerReferences?.find((r) => r.controller);

/**
 * Why a scale of this Component or InstanceSet is refused, or undefined when
 * it may go ahead. Its controlling owner writes its replicas by server-side
 * apply and would put the old count back, after the InstanceSet had already
 * started adding or removing instances; so a scale is refused, naming the
 * object at the top of the ownership chain to scale instead. Objects made on
 * their own have no owner, and scale as asked.
 */
export async function scaleRefusal(
  kind: string,
  name: string,
  lookup: OwnedLookup,
): Promise<string | undefined> {
  const owner = controllerOf(await lookup(kind, name));
  if (!owner) return undefined;
  let top = owner;
  // Cluster → Component → InstanceSet: two steps up at most; a foreign owner ends the walk.
  for (let step = 0; step < 2 && top.apiVersion === API_VERSION; step++) {
    const next = controllerOf(await lookup(top.kind, top.name));
    if (!next) break;
    top = next;
  }
  const instead =
    top.kind === "Cluster"
      ? `change spec.componentSpecs[].replicas of Cluster ${top.name} instead`
      : `scale ${top.kind} ${top.name} instead`;
  return `${kind} ${name} is managed by ${owner.kind} ${owner.name}, which sets its replicas and would undo this scale; ${instead}`;
}
