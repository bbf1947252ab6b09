import { isDeepStrictEqual } from "node:util";
import type { V1Node, V1StorageClass } from "@kubernetes/client-node";
import { isQuantity, parseQuantity } from "@tessera/base";
import { clusterSpec, type Cluster, type ClusterSpec } from "@tessera/api";
import type { Informer, InformerFactory, KubeClient } from "@tessera/kube";
import { quotedList } from "../definitions.js";
import { effectiveRequest, instanceScopes, sameScope, type InstanceScope } from "./resources.js";

/** What the cluster offers instances: StorageClasses for their volumes and nodes for their pods. */
export interface PlacementFacts {
  storageClasses: V1StorageClass[];
  nodes: V1Node[];
}

const DEFAULT_CLASS_ANNOTATIONS = [
  "storageclass.kubernetes.io/is-default-class",
  "storageclass.beta.kubernetes.io/is-default-class",
];

/** Resources every node reports and every instance may request. */
const NODE_RESOURCES = ["cpu", "memory"];

export function isDefaultClass(storageClass: V1StorageClass): boolean {
  return DEFAULT_CLASS_ANNOTATIONS.some((a) => storageClass.metadata?.annotations?.[a] === "true");
}

function isReadyAndSchedulable(node: V1Node): boolean {
  if (node.spec?.unschedulable) return false;
  return (node.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

function storageErrors(
  claimPath: string,
  className: string | undefined,
  classes: V1StorageClass[],
): string[] {
  const names = classes.map((c) => c.metadata!.name!);
  if (className) {
    if (names.includes(className)) return [];
    return [
      `${claimPath}.spec.storageClassName: StorageClass "${className}" not found; use one of ${quotedList(names)}`,
    ];
  }
  if (classes.some(isDefaultClass)) return [];
  return [
    `${claimPath}.spec.storageClassName: not set and the cluster has no default StorageClass; name one of ${quotedList(names)}, or mark one default with the annotation ${DEFAULT_CLASS_ANNOTATIONS[0]}: "true"`,
  ];
}

/** The node with the most allocatable of a resource among those pods can be scheduled on. */
function largestAllocatable(nodes: V1Node[], resource: string): { node: string; amount: string } | undefined {
  let largest: { node: string; amount: string; value: number } | undefined;
  for (const node of nodes) {
    const amount = node.status?.allocatable?.[resource];
    if (!isQuantity(amount)) continue;
    const value = parseQuantity(amount);
    if (!largest || value > largest.value) largest = { node: node.metadata!.name!, amount, value };
  }
  return largest;
}

function allocatableErrors(scope: InstanceScope, nodes: V1Node[]): string[] {
  const errors: string[] = [];
  for (const resource of NODE_RESOURCES) {
    const request = effectiveRequest(scope, resource);
    const largest = largestAllocatable(nodes, resource);
    if (!request || !largest || parseQuantity(request.value) <= parseQuantity(largest.amount)) continue;
    const taken = request.fromLimit ? ` (the request, as none is set)` : "";
    errors.push(
      `${scope.path}.resources.${request.field}: ${request.value}${taken} is more than any node can allocate (the largest, "${largest.node}", has ${largest.amount} ${resource}); request at most ${largest.amount}, or add a node with more ${resource}`,
    );
  }
  return errors;
}

/**
 * Checks of a Cluster against what the cluster it runs in offers: every new
 * claim's StorageClass exists (or a default one does when none is named),
 * and every instance's CPU and memory fit the largest Ready, schedulable
 * node. Without such a node (none registered yet, or all down) nothing is
 * refused: nodes may still come. On update only what changed is checked,
 * so a class or node that went away later never blocks other edits.
 */
export function placementErrors(cluster: Cluster, old: Cluster | undefined, facts: PlacementFacts): string[] {
  const parsed = clusterSpec.safeParse(cluster.spec);
  if (!parsed.success) return [];
  const scopes = instanceScopes(parsed.data);
  const oldScopes = old ? instanceScopes(old.spec as ClusterSpec) : [];
  const nodes = facts.nodes.filter(isReadyAndSchedulable);
  const errors: string[] = [];
  for (const scope of scopes) {
    const before = sameScope(oldScopes, scope);
    for (const { claim, path } of scope.claims) {
      if (before?.claims.some((c) => c.claim.name === claim.name)) continue;
      errors.push(...storageErrors(path, claim.spec.storageClassName || undefined, facts.storageClasses));
    }
    if (nodes.length > 0 && (!before || !isDeepStrictEqual(before.resources, scope.resources))) {
      errors.push(...allocatableErrors(scope, nodes));
    }
  }
  return [...new Set(errors)];
}

/**
 * Placement facts for the webhook: from informer caches, and read afresh
 * from the apiserver before a refusal stands, so a StorageClass or node
 * created a moment ago never causes one.
 */
export class ClusterPlacement {
  private readonly storageClasses: Informer<V1StorageClass>;
  private readonly nodes: Informer<V1Node>;

  constructor(
    private readonly client: KubeClient,
    informers: InformerFactory,
  ) {
    this.storageClasses = informers.get<V1StorageClass>("storage.k8s.io/v1", "StorageClass");
    this.nodes = informers.get<V1Node>("v1", "Node");
  }

  async errors(cluster: Cluster, old?: Cluster): Promise<string[]> {
    const cached = placementErrors(cluster, old, {
      storageClasses: this.storageClasses.list(),
      nodes: this.nodes.list(),
    });
    if (cached.length === 0) return cached;
    const [storageClasses, nodes] = await Promise.all([
      this.client.listAll<V1StorageClass>("storage.k8s.io/v1", "StorageClass"),
      this.client.listAll<V1Node>("v1", "Node"),
    ]);
    return placementErrors(cluster, old, { storageClasses: storageClasses.items, nodes: nodes.items });
  }
}
