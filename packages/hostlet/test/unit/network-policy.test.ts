import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Namespace, V1NetworkPolicy, V1NetworkPolicySpec, V1Pod } from "@kubernetes/client-node";
import { parseIpBlock, subtractCidrs, formatCidr } from "../../src/network/cidr.js";
import { renderPolicyRules } from "../../src/network/iptables.js";
import {
  computeProtectedPods,
  labelSelectorMatches,
  type IngressRule,
  type PolicyInput,
} from "../../src/network/policy.js";

function pod(namespace: string, name: string, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { namespace, name, uid: `${namespace}-${name}`, labels },
    spec: { containers: [{ name: "c", ports: [{ name: "db", containerPort: 5432 }] }] },
  };
}

function namespace(name: string, labels: Record<string, string> = {}): V1Namespace {
  return { metadata: { name, labels } };
}

function policy(ns: string, spec: Omit<V1NetworkPolicySpec, "ingress"> & { ingress?: IngressRule[] }) {
  return { metadata: { namespace: ns, name: "p" }, spec } as V1NetworkPolicy;
}

const pods = [pod("a", "client", { app: "client" }), pod("b", "db", { app: "db" }), pod("b", "peer")];

function input(policies: V1NetworkPolicy[], namespaces = [namespace("a"), namespace("b")]): PolicyInput {
  return {
    policies,
    namespaces,
    pods,
    targets: [{ pod: pods[1]!, ip: "127.1.0.2", cgroupPath: "tessera/n/b-db" }],
    cgroupOf: (p) => `tessera/n/${p.metadata!.uid}`,
  };
}

test("label selectors: matchLabels and every matchExpressions operator; empty selects all", () => {
  const labels = { app: "db", tier: "x" };
  assert.ok(labelSelectorMatches({}, labels));
  assert.ok(labelSelectorMatches({ matchLabels: { app: "db" } }, labels));
  assert.ok(!labelSelectorMatches({ matchLabels: { app: "web" } }, labels));
  assert.ok(
    labelSelectorMatches({ matchExpressions: [{ key: "app", operator: "In", values: ["db"] }] }, labels),
  );
  assert.ok(
    !labelSelectorMatches({ matchExpressions: [{ key: "app", operator: "NotIn", values: ["db"] }] }, labels),
  );
  assert.ok(
    labelSelectorMatches({ matchExpressions: [{ key: "x", operator: "NotIn", values: ["1"] }] }, labels),
  );
  assert.ok(labelSelectorMatches({ matchExpressions: [{ key: "tier", operator: "Exists" }] }, labels));
  assert.ok(!labelSelectorMatches({ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, labels));
});

test("a pod no Ingress policy selects stays open; an empty ingress list denies everything", () => {
  assert.deepEqual(computeProtectedPods(input([])), []);
  assert.deepEqual(
    computeProtectedPods(input([policy("b", { podSelector: { matchLabels: { app: "web" } } })])),
    [],
  );
  assert.deepEqual(
    computeProtectedPods(input([policy("b", { podSelector: {}, policyTypes: ["Egress"] })])),
    [],
    "an Egress-only policy leaves ingress alone",
  );
  assert.deepEqual(computeProtectedPods(input([policy("b", { podSelector: {} })])), [
    { name: "b/db", ip: "127.1.0.2", cgroupPath: "tessera/n/b-db", allowed: [] },
  ]);
});

test("peers: pod selectors in the policy's namespace, namespace selectors, both combined, ipBlocks; named ports", () => {
  const namespaces = [namespace("a", { team: "a" }), namespace("b", { team: "b" })];
  const sameNamespace = computeProtectedPods(
    input([
      policy("b", { podSelector: {}, ingress: [{ from: [{ podSelector: {} }], ports: [{ port: "db" }] }] }),
    ]),
  )[0]!;
  assert.deepEqual(sameNamespace.allowed, [
    { source: { pod: "b/db", cgroupPath: "tessera/n/b-db" }, port: { protocol: "tcp", port: "5432" } },
    { source: { pod: "b/peer", cgroupPath: "tessera/n/b-peer" }, port: { protocol: "tcp", port: "5432" } },
  ]);

  const combined = computeProtectedPods(
    input(
      [
        policy("b", {
          podSelector: { matchLabels: { app: "db" } },
          ingress: [
            {
              from: [
                {
                  namespaceSelector: { matchLabels: { team: "a" } },
                  podSelector: { matchLabels: { app: "client" } },
                },
              ],
            },
            {
              from: [{ namespaceSelector: { matchLabels: { team: "b" } } }],
              ports: [{ port: 1, endPort: 9 }],
            },
            {
              from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.0.0.0/9"] } }],
              ports: [{ protocol: "UDP" }],
            },
          ],
        }),
      ],
      namespaces,
    ),
  )[0]!;
  assert.deepEqual(combined.allowed, [
    { source: { pod: "a/client", cgroupPath: "tessera/n/a-client" } },
    { source: { pod: "b/db", cgroupPath: "tessera/n/b-db" }, port: { protocol: "tcp", port: "1:9" } },
    { source: { pod: "b/peer", cgroupPath: "tessera/n/b-peer" }, port: { protocol: "tcp", port: "1:9" } },
    { source: { cidr: "10.128.0.0/9" }, port: { protocol: "udp" } },
  ]);

  const unknownPort = computeProtectedPods(
    input([policy("b", { podSelector: {}, ingress: [{ ports: [{ port: "http" }] }] })]),
  )[0]!;
  assert.deepEqual(unknownPort.allowed, [], "a named port the pod does not have admits nothing");
});

test("ipBlock excepts are cut out of the block", () => {
  const cut = subtractCidrs(parseIpBlock("10.0.0.0/24"), [parseIpBlock("10.0.0.64/26")]).map(formatCidr);
  assert.deepEqual(cut, ["10.0.0.0/26", "10.0.0.128/25"]);
  assert.deepEqual(subtractCidrs(parseIpBlock("10.0.0.0/24"), [parseIpBlock("0.0.0.0/0")]), []);
});

test("rules judge new connections only, let the hostlet, host processes and the pod itself through, then refuse", () => {
  const rules = renderPolicyRules(
    "C",
    [
      {
        name: "b/db",
        ip: "127.1.0.2",
        cgroupPath: "tessera/n/b-db",
        allowed: [
          {
            source: { pod: "b/peer", cgroupPath: "tessera/n/b-peer" },
            port: { protocol: "tcp", port: "5432" },
          },
          { source: { cidr: "10.0.0.0/8" } },
        ],
      },
    ],
    "tessera",
    "tessera/n/hostlet",
  );
  assert.deepEqual(rules, [
    "-A C -m conntrack ! --ctstate NEW -j RETURN",
    "-A C -m cgroup --path tessera/n/hostlet -j RETURN",
    "-A C -m cgroup ! --path tessera -j RETURN",
    "-A C -d 127.1.0.2/32 -m cgroup --path tessera/n/b-db -j RETURN",
    '-A C -d 127.1.0.2/32 -p tcp -m tcp --dport 5432 -m cgroup --path tessera/n/b-peer -m comment --comment "from b/peer" -j RETURN',
    "-A C -d 127.1.0.2/32 -s 10.0.0.0/8 -j RETURN",
    '-A C -d 127.1.0.2/32 -p tcp -m comment --comment "b/db" -j REJECT --reject-with tcp-reset',
    '-A C -d 127.1.0.2/32 -m comment --comment "b/db" -j REJECT',
  ]);
  assert.deepEqual(renderPolicyRules("C", [], "tessera"), []);
});
