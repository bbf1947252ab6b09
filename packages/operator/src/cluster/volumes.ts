import type { V1OwnerReference, V1PersistentVolumeClaim } from "@kubernetes/client-node";
import { API_VERSION, annotations, type Cluster, type TerminationPolicy } from "@tessera/api";

/**
 * What a volume claim records of its cluster: the cluster's UID and
 * termination policy. Once the cluster is gone, that record alone decides
 * the claim's fate, so it holds whether or not the operator ran when the
 * cluster was deleted.
 */
export function volumeRecord(clusterUID: string, policy: TerminationPolicy): Record<string, string> {
  return { [annotations.clusterUID]: clusterUID, [annotations.terminationPolicy]: policy };
}

function ownerOf(cluster: Pick<Cluster, "metadata">): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: "Cluster",
    name: cluster.metadata.name!,
    uid: cluster.metadata.uid!,
  };
}

const isClusterRef = (ref: V1OwnerReference) => ref.apiVersion === API_VERSION && ref.kind === "Cluster";

/**
 * The metadata patch that makes a claim record its cluster as it is now, or
 * undefined when it already does. Under WipeOut the cluster also owns the
 * claim, so the garbage collector removes it with the cluster even when the
 * operator never runs again; under any other policy nothing owns it, and no
 * deletion the user did not ask for can reach it by garbage collection.
 */
export function recordPatch(
  claim: V1PersistentVolumeClaim,
  cluster: Pick<Cluster, "metadata" | "spec">,
): { metadata: { annotations: Record<string, string>; ownerReferences: V1OwnerReference[] } } | undefined {
  const record = volumeRecord(cluster.metadata.uid!, cluster.spec.terminationPolicy);
  const owned = cluster.spec.terminationPolicy === "WipeOut";
  const refs = claim.metadata?.ownerReferences ?? [];
  const others = refs.filter((ref) => !isClusterRef(ref));
  const clusterRefs = refs.filter(isClusterRef);
  const ownedAsWanted = owned
    ? clusterRefs.length === 1 && clusterRefs[0]!.uid === cluster.metadata.uid
    : clusterRefs.length === 0;
  const current = claim.metadata?.annotations ?? {};
  const recorded = Object.entries(record).every(([key, value]) => current[key] === value);
  if (recorded && ownedAsWanted) return undefined;
  return {
    metadata: { annotations: record, ownerReferences: owned ? [...others, ownerOf(cluster)] : others },
  };
}

/** The UID of the cluster a claim records, if it records one. */
export function recordedCluster(claim: V1PersistentVolumeClaim): string | undefined {
  return claim.metadata?.annotations?.[annotations.clusterUID] || undefined;
}

/**
 * Whether a claim holds data of a cluster that no longer exists and whose
 * policy let its volumes go with it. `liveUID` is the UID of the cluster of
 * that name that exists now, if any: a claim recording it, or recording
 * nothing, or recording DoNotTerminate, is never a leftover.
 */
export function isLeftover(claim: V1PersistentVolumeClaim, liveUID: string | undefined): boolean {
  const uid = recordedCluster(claim);
  const policy = claim.metadata?.annotations?.[annotations.terminationPolicy] as
    TerminationPolicy | undefined;
  return Boolean(uid) && uid !== liveUID && (policy === "Delete" || policy === "WipeOut");
}
