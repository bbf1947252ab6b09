import type {
  V1LabelSelector,
  V1Namespace,
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
  V1Pod,
} from "@kubernetes/client-node";
import { formatCidr, parseIpBlock, subtractCidrs } from "./cidr.js";

/** A pod of this node that policies may protect, with the address and cgroup the hostlet gave it. */
export interface PolicyTarget {
  pod: V1Pod;
  ip: string;
  cgroupPath?: string;
}

/** Where an allowed connection may come from: a pod's processes (by cgroup) or a source address block. */
export type PolicySource = { pod: string; cgroupPath: string } | { cidr: string };

export interface PolicyPort {
  protocol: "tcp" | "udp" | "sctp";
  /** `80` or a range `8000:8080`; none for every port of the protocol. */
  port?: string;
}

export interface AllowedIngress {
  /** None: any source. */
  source?: PolicySource;
  /** None: any port. */
  port?: PolicyPort;
}

/** A pod at least one Ingress policy selects: only the listed connections reach it. */
export interface ProtectedPod {
  name: string;
  ip: string;
  cgroupPath?: string;
  allowed: AllowedIngress[];
}

export interface PolicyInput {
  policies: V1NetworkPolicy[];
  namespaces: V1Namespace[];
  /** Every pod of the cluster: the candidates for peers. */
  pods: V1Pod[];
  targets: PolicyTarget[];
  /** A running pod's cgroup path, when it exists on this host (rules can only name existing cgroups). */
  cgroupOf: (pod: V1Pod) => string | undefined;
}

/** An ingress rule as the API serves it: the generated model renames `from` to `_from`, plain JSON does not. */
export type IngressRule = Omit<V1NetworkPolicyIngressRule, "_from"> & { from?: V1NetworkPolicyPeer[] };

/** Kubernetes label selector semantics: an empty selector selects everything. */
export function labelSelectorMatches(
  selector: V1LabelSelector,
  labels: Record<string, string> = {},
): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return (
    byLabels &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      switch (operator) {
        case "In":
          return key in labels && values.includes(labels[key]!);
        case "NotIn":
          return !(key in labels) || !values.includes(labels[key]!);
        case "Exists":
          return key in labels;
        case "DoesNotExist":
          return !(key in labels);
        default:
          return false;
      }
    })
  );
}

/** Policies without policyTypes are Ingress policies (and Egress ones too when they list egress rules). */
function governsIngress(policy: V1NetworkPolicy): boolean {
  return policy.spec?.policyTypes?.includes("Ingress") ?? true;
}

function ports(pod: V1Pod, port: V1NetworkPolicyPort): PolicyPort[] {
  const protocol = (port.protocol ?? "TCP").toLowerCase() as PolicyPort["protocol"];
  if (port.port === undefined) return [{ protocol }];
  let number: number | undefined;
  if (typeof port.port === "number" || /^\d+$/.test(port.port)) number = Number(port.port);
  else {
    // A named port is the target pod's container port of that name and protocol.
    number = (pod.spec?.containers ?? [])
      .flatMap((c) => c.ports ?? [])
      .find((p) => p.name === port.port && (p.protocol ?? "TCP").toLowerCase() === protocol)?.containerPort;
  }
  if (number === undefined) return [];
  return [{ protocol, port: port.endPort ? `${number}:${port.endPort}` : String(number) }];
}

function peerSources(peer: V1NetworkPolicyPeer, namespace: string, input: PolicyInput): PolicySource[] {
  if (peer.ipBlock) {
    // IPv6 blocks cannot match: every address here is IPv4.
    if (peer.ipBlock.cidr.includes(":")) return [];
    const excepts = (peer.ipBlock.except ?? []).filter((e) => !e.includes(":")).map(parseIpBlock);
    return subtractCidrs(parseIpBlock(peer.ipBlock.cidr), excepts).map((c) => ({ cidr: formatCidr(c) }));
  }
  const namespaces = new Set(
    peer.namespaceSelector
      ? input.namespaces
          .filter((ns) => labelSelectorMatches(peer.namespaceSelector!, ns.metadata?.labels))
          .map((ns) => ns.metadata!.name!)
      : [namespace],
  );
  return input.pods.flatMap((pod) => {
    if (!namespaces.has(pod.metadata!.namespace!)) return [];
    if (peer.podSelector && !labelSelectorMatches(peer.podSelector, pod.metadata?.labels)) return [];
    const cgroupPath = input.cgroupOf(pod);
    return cgroupPath ? [{ pod: `${pod.metadata!.namespace}/${pod.metadata!.name}`, cgroupPath }] : [];
  });
}

/**
 * What reaches each pod of this node under the NetworkPolicies of its
 * namespace: a pod no Ingress policy selects is left open; the rules of
 * every policy selecting it add up; a rule without `from` admits any source
 * and one without `ports` any port.
 */
export function computeProtectedPods(input: PolicyInput): ProtectedPod[] {
  const result: ProtectedPod[] = [];
  for (const target of input.targets) {
    const { namespace, name, labels } = target.pod.metadata!;
    const policies = input.policies.filter(
      (p) =>
        p.metadata?.namespace === namespace &&
        governsIngress(p) &&
        labelSelectorMatches(p.spec?.podSelector ?? {}, labels),
    );
    if (policies.length === 0) continue;
    const allowed = new Map<string, AllowedIngress>();
    for (const rule of policies.flatMap((p) => (p.spec?.ingress ?? []) as IngressRule[])) {
      const rulePorts: (PolicyPort | undefined)[] = rule.ports?.length
        ? rule.ports.flatMap((port) => ports(target.pod, port))
        : [undefined];
      const sources: (PolicySource | undefined)[] = rule.from?.length
        ? rule.from.flatMap((peer) => peerSources(peer, namespace!, input))
        : [undefined];
      for (const source of sources) {
        for (const port of rulePorts) {
          const entry = { ...(source ? { source } : {}), ...(port ? { port } : {}) };
          allowed.set(JSON.stringify(entry), entry);
        }
      }
    }
    result.push({
      name: `${namespace}/${name}`,
      ip: target.ip,
      ...(target.cgroupPath ? { cgroupPath: target.cgroupPath } : {}),
      allowed: [...allowed.values()],
    });
  }
  return result.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}
