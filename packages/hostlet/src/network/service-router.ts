import { isDeepStrictEqual } from "node:util";
import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { errorMessage, type Logger } from "@tessera/kube";
import { type Cidr, cidrContains, parseCidr } from "./cidr.js";
import { computeServiceRoutes, type Endpoint, type ServiceRoute } from "./endpoints.js";
import { IptablesChains, renderPolicyRules, type IsolatedPod } from "./iptables.js";
import type { ProtectedPod } from "./policy.js";
import { UserspaceProxy } from "./proxy.js";

/** The node's address (its InternalIP): where node ports listen, so the host reaches them on localhost. */
export const NODE_ADDRESS = "127.0.0.1";

/** Each node port of the routes, as a route of its own on the node's address. */
export function nodePortRoutes(routes: ServiceRoute[]): ServiceRoute[] {
  return routes.flatMap(({ nodePort, ...route }) =>
    nodePort
      ? [{ ...route, name: `${route.name} (node port)`, clusterIP: NODE_ADDRESS, port: nodePort }]
      : [],
  );
}

/** NetworkPolicy enforcement: the pods to protect, and the cgroup every pod's cgroup lives under. */
export interface PolicyEnforcement {
  protectedPods: () => ProtectedPod[];
  parentCgroup: string;
}

/**
 * Keeps ClusterIP routing, NetworkPolicy enforcement and pod isolation in
 * line with the cluster: recomputed from pods, services and policies on
 * every change (coalesced), applied as iptables chains when root, through a
 * user-space proxy otherwise (no policies then). Node ports (NodePort and
 * LoadBalancer services) are always served by a user-space listener on the
 * node's address, so the host reaches them in either mode.
 */
export class ServiceRouter {
  private routes: ServiceRoute[] = [];
  private nodeRoutes: ServiceRoute[] = [];
  private isolated: IsolatedPod[] = [];
  private policyRules: string[] = [];
  private pending?: NodeJS.Timeout;
  private closed = false;
  private applying: Promise<void> = Promise.resolve();

  private constructor(
    private readonly chains: IptablesChains | undefined,
    private readonly proxy: UserspaceProxy | undefined,
    private readonly nodePorts: UserspaceProxy,
    private readonly source: () => { services: V1Service[]; pods: V1Pod[] },
    private readonly apiserver: Endpoint | undefined,
    private readonly serviceCIDR: Cidr,
    private readonly hostletCgroup: string | undefined,
    private readonly policies: PolicyEnforcement | undefined,
    private readonly logger: Logger,
  ) {}

  static async start(options: {
    nodeName: string;
    source: () => { services: V1Service[]; pods: V1Pod[] };
    apiserver?: Endpoint;
    /** Only ClusterIPs in this range are routed, so hostlets of different clusters on one host never overlap. */
    serviceCIDR: string;
    hostletCgroup?: string;
    /** Enforced only with iptables, and only where pods have cgroup2 paths to tell them apart by. */
    policies?: PolicyEnforcement;
    logger: Logger;
  }): Promise<ServiceRouter> {
    const useIptables = await IptablesChains.available();
    const chains = useIptables ? new IptablesChains(options.nodeName) : undefined;
    await chains?.install();
    const proxy = useIptables ? undefined : new UserspaceProxy(options.logger);
    options.logger.info(
      {
        mode: useIptables ? "iptables" : "userspace proxy",
        chains: chains?.names,
        networkPolicy: useIptables && options.policies ? "enforced" : "not enforced (needs root and cgroup2)",
      },
      "service routing ready",
    );
    return new ServiceRouter(
      chains,
      proxy,
      new UserspaceProxy(options.logger),
      options.source,
      options.apiserver,
      parseCidr(options.serviceCIDR),
      options.hostletCgroup,
      useIptables ? options.policies : undefined,
      options.logger,
    );
  }

  get mode(): "iptables" | "proxy" {
    return this.chains ? "iptables" : "proxy";
  }

  /** Schedules a recomputation; bursts of changes collapse into one update. */
  changed(): void {
    if (this.pending || this.closed) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.applying = this.applying.then(() => this.apply());
    }, 20);
  }

  private async apply(): Promise<void> {
    const { services, pods } = this.source();
    const all = computeServiceRoutes(services, pods, this.apiserver).filter((route) =>
      cidrContains(this.serviceCIDR, route.clusterIP),
    );
    const nodeRoutes = nodePortRoutes(all);
    if (!isDeepStrictEqual(nodeRoutes, this.nodeRoutes)) {
      this.nodePorts.setRoutes(nodeRoutes);
      this.nodeRoutes = nodeRoutes;
    }
    const routes = all.map(({ nodePort: _nodePort, ...route }) => route);
    try {
      if (!isDeepStrictEqual(routes, this.routes)) {
        if (this.chains) await this.chains.setServices(routes);
        else this.proxy?.setRoutes(routes);
        this.routes = routes;
      }
      if (this.chains && this.policies) {
        const rules = renderPolicyRules(
          this.chains.names.policies,
          this.policies.protectedPods(),
          this.policies.parentCgroup,
          this.hostletCgroup,
        );
        if (!isDeepStrictEqual(rules, this.policyRules)) {
          await this.chains.setPolicyRules(rules);
          this.policyRules = rules;
        }
      }
    } catch (error) {
      // A pod's cgroup may vanish between computing and applying its rules: the next attempt leaves it out.
      this.logger.warn({ err: errorMessage(error) }, "could not update service routes or network policies");
      setTimeout(() => this.changed(), 1000);
    }
  }

  async setIsolated(pods: IsolatedPod[]): Promise<void> {
    if (!this.chains) throw new Error("network isolation needs iptables (run the hostlet as root)");
    this.isolated = pods;
    await (this.applying = this.applying.then(() =>
      this.chains!.setIsolation(this.isolated, this.hostletCgroup),
    ));
  }

  /** Waits for pending updates (tests and shutdown). */
  async flush(): Promise<void> {
    if (this.pending) {
      clearTimeout(this.pending);
      this.pending = undefined;
      this.applying = this.applying.then(() => this.apply());
    }
    await this.applying;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pending);
    await this.applying;
    await this.chains?.remove();
    this.proxy?.close();
    this.nodePorts.close();
  }
}
