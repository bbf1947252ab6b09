import { createHash } from "node:crypto";
import { runCommand } from "@tessera/base";
import type { ServiceRoute } from "./endpoints.js";
import type { ProtectedPod } from "./policy.js";

export interface IsolatedPod {
  ip: string;
  /** The pod's cgroup2 path; without it only traffic to the pod is cut. */
  cgroupPath?: string;
}

/** Chain names per node, so several hostlets on one host keep out of each other's way. */
export function chainNames(nodeName: string): { services: string; isolation: string; policies: string } {
  const hash = createHash("sha256").update(nodeName).digest("hex").slice(0, 10);
  return { services: `TSR-SVC-${hash}`, isolation: `TSR-ISO-${hash}`, policies: `TSR-POL-${hash}` };
}

/** The nat chain's rules: DNAT each ClusterIP port to one of its endpoints, spread evenly at random. */
export function renderServiceRules(chain: string, routes: ServiceRoute[]): string[] {
  const rules: string[] = [];
  for (const route of routes) {
    const proto = route.protocol.toLowerCase();
    const match = `-d ${route.clusterIP}/32 -p ${proto} -m ${proto} --dport ${route.port}`;
    route.endpoints.forEach((endpoint, index) => {
      const remaining = route.endpoints.length - index;
      const spread =
        remaining > 1 ? ` -m statistic --mode random --probability ${(1 / remaining).toFixed(10)}` : "";
      rules.push(
        `-A ${chain} ${match}${spread} -m comment --comment "${route.name}" -j DNAT --to-destination ${endpoint.ip}:${endpoint.port}`,
      );
    });
  }
  return rules;
}

/**
 * The filter chain's rules for isolated pods. Traffic to the pod's IP is
 * refused; so is traffic from its processes (matched by cgroup, since
 * loopback connections leave with source 127.0.0.1), except to itself.
 * Connections the hostlet opens (its probes) are marked and let through
 * both ways, so isolation does not turn into restarts.
 */
export function renderIsolationRules(chain: string, pods: IsolatedPod[], hostletCgroup?: string): string[] {
  if (pods.length === 0) return [];
  const mark = "0x5e55/0xffff";
  const rules: string[] = [];
  if (hostletCgroup) {
    rules.push(`-A ${chain} -m cgroup --path ${hostletCgroup} -j CONNMARK --set-xmark ${mark}`);
    rules.push(`-A ${chain} -m connmark --mark ${mark} -j RETURN`);
  }
  for (const pod of pods) {
    if (pod.cgroupPath) {
      // Its own connections to itself leave from 127.0.0.1: recognise them by their original destination.
      rules.push(
        `-A ${chain} -m cgroup --path ${pod.cgroupPath} -m conntrack --ctorigdst ${pod.ip}/32 -j RETURN`,
      );
      rules.push(`-A ${chain} -m cgroup --path ${pod.cgroupPath} -p tcp -j REJECT --reject-with tcp-reset`);
      rules.push(`-A ${chain} -m cgroup --path ${pod.cgroupPath} -j REJECT`);
    }
    rules.push(`-A ${chain} -d ${pod.ip}/32 -p tcp -j REJECT --reject-with tcp-reset`);
    rules.push(`-A ${chain} -d ${pod.ip}/32 -j REJECT`);
  }
  return rules;
}

/**
 * The filter chain's rules enforcing NetworkPolicy ingress. Pods share the
 * host's network stack and connect out from 127.0.0.1, so a source pod is
 * recognised by its process's cgroup (`-m cgroup`, which matches the
 * cgroup's descendants: every container and exec of the pod); ipBlocks
 * match the source address. The chain is in OUTPUT after the service DNAT,
 * so connections through a ClusterIP are judged by the pod IP and port they
 * were sent to. Only new connections are judged: replies, and connections
 * open before a policy changed, pass. Connections the hostlet opens (probes,
 * port-forward) and those of host processes that are no pod (outside
 * `parentCgroup`: the operator, an administrator's client) pass too.
 */
export function renderPolicyRules(
  chain: string,
  pods: ProtectedPod[],
  parentCgroup: string,
  hostletCgroup?: string,
): string[] {
  if (pods.length === 0) return [];
  const rules = [`-A ${chain} -m conntrack ! --ctstate NEW -j RETURN`];
  if (hostletCgroup) rules.push(`-A ${chain} -m cgroup --path ${hostletCgroup} -j RETURN`);
  rules.push(`-A ${chain} -m cgroup ! --path ${parentCgroup} -j RETURN`);
  for (const pod of pods) {
    const to = `-A ${chain} -d ${pod.ip}/32`;
    if (pod.cgroupPath) rules.push(`${to} -m cgroup --path ${pod.cgroupPath} -j RETURN`);
    for (const { source, port } of pod.allowed) {
      const from = !source
        ? ""
        : "cidr" in source
          ? ` -s ${source.cidr}`
          : ` -m cgroup --path ${source.cgroupPath} -m comment --comment "from ${source.pod}"`;
      const ports = !port
        ? ""
        : ` -p ${port.protocol}` + (port.port ? ` -m ${port.protocol} --dport ${port.port}` : "");
      rules.push(`${to}${ports}${from} -j RETURN`);
    }
    rules.push(`${to} -p tcp -m comment --comment "${pod.name}" -j REJECT --reject-with tcp-reset`);
    rules.push(`${to} -m comment --comment "${pod.name}" -j REJECT`);
  }
  return rules;
}

/** Replaces a whole chain in one atomic iptables-restore transaction. */
export function renderRestore(table: "nat" | "filter", chain: string, rules: string[]): string {
  return [`*${table}`, `:${chain} - [0:0]`, ...rules, "COMMIT", ""].join("\n");
}

async function iptables(args: string[]): Promise<{ code: number; stderr: string }> {
  return runCommand("iptables", ["-w", "5", ...args]);
}

/** Owns one nat chain (services) and two filter chains (isolation, policies) hooked into OUTPUT. */
export class IptablesChains {
  readonly names: { services: string; isolation: string; policies: string };

  constructor(nodeName: string) {
    this.names = chainNames(nodeName);
  }

  static async available(): Promise<boolean> {
    if (process.getuid?.() !== 0) return false;
    const result = await runCommand("iptables", ["-w", "5", "-t", "nat", "-S", "OUTPUT"]).catch(
      () => undefined,
    );
    return result?.code === 0;
  }

  async install(): Promise<void> {
    await this.replace("nat", this.names.services, []);
    await this.replace("filter", this.names.isolation, []);
    await this.replace("filter", this.names.policies, []);
    await this.hook("nat", this.names.services);
    await this.hook("filter", this.names.isolation);
    await this.hook("filter", this.names.policies);
  }

  async setServices(routes: ServiceRoute[]): Promise<void> {
    await this.replace("nat", this.names.services, renderServiceRules(this.names.services, routes));
  }

  async setIsolation(pods: IsolatedPod[], hostletCgroup?: string): Promise<void> {
    await this.replace(
      "filter",
      this.names.isolation,
      renderIsolationRules(this.names.isolation, pods, hostletCgroup),
    );
  }

  async setPolicyRules(rules: string[]): Promise<void> {
    await this.replace("filter", this.names.policies, rules);
  }

  private async replace(table: "nat" | "filter", chain: string, rules: string[]): Promise<void> {
    const result = await runCommand("iptables-restore", ["-w", "5", "--noflush"], {
      input: renderRestore(table, chain, rules),
    });
    if (result.code !== 0)
      throw new Error(`iptables-restore (${table}/${chain}) failed: ${result.stderr.trim()}`);
  }

  private async hook(table: "nat" | "filter", chain: string): Promise<void> {
    const check = await iptables(["-t", table, "-C", "OUTPUT", "-j", chain]);
    if (check.code === 0) return;
    const insert = await iptables(["-t", table, "-I", "OUTPUT", "1", "-j", chain]);
    if (insert.code !== 0) throw new Error(`iptables -I OUTPUT -j ${chain}: ${insert.stderr.trim()}`);
  }

  /** Unhooks and deletes the chains; safe to call when they do not exist. */
  async remove(): Promise<void> {
    for (const [table, chain] of [
      ["nat", this.names.services],
      ["filter", this.names.isolation],
      ["filter", this.names.policies],
    ] as const) {
      while ((await iptables(["-t", table, "-D", "OUTPUT", "-j", chain])).code === 0);
      await iptables(["-t", table, "-F", chain]);
      await iptables(["-t", table, "-X", chain]);
    }
  }
}
