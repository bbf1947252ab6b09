import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import type { V1Namespace, V1NetworkPolicy, V1Pod, V1Service } from "@kubernetes/client-node";
import {
  EventRecorder,
  InformerFactory,
  KubeClient,
  createLogger,
  errorMessage,
  issueCertificate,
  loadCertificateAuthority,
  loadKubeConfig,
  type Informer,
  type KubernetesObject,
  type KeyPairPem,
  type Logger,
} from "@tessera/kube";
import { freePort, isListening } from "@tessera/base";
import { ImageCatalog } from "./images/catalog.js";
import { KubeletServer, type KubeletBackend } from "./kubelet/server.js";
import { Ipam } from "./network/ipam.js";
import { computeProtectedPods, type ProtectedPod } from "./network/policy.js";
import { ServiceRouter } from "./network/service-router.js";
import { NodeRegistration } from "./node/registration.js";
import { KUBELET_BACKOFF, type RestartBackoffOptions } from "./pods/restart-backoff.js";
import { PodWorker, type WorkerContext } from "./pods/worker.js";
import { CGROUP_PARENT, CgroupLayout, podCgroupPath } from "./runtime/cgroups.js";
import type { SandboxExecOptions } from "./runtime/exec.js";
import { LocalPathProvisioner } from "./storage/provisioner.js";
import { ObjectSource } from "./volumes/object-source.js";

export const DEFAULT_POD_CIDR = "127.1.0.0/16";
export const DEFAULT_SERVICE_CIDR = "127.96.0.0/16";

export interface HostletOptions {
  /** Kubeconfig of the node identity (user `system:node:<nodeName>`, group `system:nodes`). */
  kubeconfig: string;
  nodeName: string;
  /** Pod directories, logs, local volumes, IP assignments and the kubelet port live here. */
  stateDir: string;
  podCIDR?: string;
  /** The control plane's service range; ClusterIPs in it are routed on this host. */
  serviceCIDR?: string;
  /** The cluster CA: it verifies kubelet API clients and issues the kubelet's serving certificate. */
  ca: KeyPairPem;
  /** Fixed kubelet API port; by default one is chosen on first start and kept in the state directory. */
  kubeletPort?: number;
  /** Extra image catalog files, consulted before the built-in one. */
  imageCatalogs?: string[];
  /** CrashLoopBackOff timing; defaults to the kubelet's 10 s doubling to 5 min. */
  restartBackoff?: RestartBackoffOptions;
  clusterDomain?: string;
  /** Node capacity; defaults to the host's CPUs and memory. */
  capacity?: { cpu?: string; memory?: string; pods?: string };
  labels?: Record<string, string>;
  logger?: Logger;
}

interface Isolation {
  refuseKubeletApi: boolean;
}

/**
 * A Kubernetes node agent that runs the pods bound to its Node as host
 * processes in bubblewrap sandboxes. See docs/hostlet.md.
 */
export class Hostlet implements KubeletBackend {
  private readonly workers = new Map<string, PodWorker>();
  private readonly isolated = new Map<string, Isolation>();
  private readonly pods: Informer<V1Pod>;
  private readonly services: Informer<V1Service>;
  private readonly policies: Informer<V1NetworkPolicy>;
  private readonly namespaces: Informer<V1Namespace>;
  private router?: ServiceRouter;
  private kubelet?: KubeletServer;
  private provisioner?: LocalPathProvisioner;
  private registration?: NodeRegistration;
  private hostsTimer?: NodeJS.Timeout;
  private stopping = false;

  private constructor(
    readonly options: HostletOptions,
    readonly kubeletPort: number,
    private readonly client: KubeClient,
    private readonly factory: InformerFactory,
    private readonly context: WorkerContext,
    private readonly logger: Logger,
  ) {
    this.pods = factory.get<V1Pod>("v1", "Pod");
    this.services = factory.get<V1Service>("v1", "Service");
    this.policies = factory.get<V1NetworkPolicy>("networking.k8s.io/v1", "NetworkPolicy");
    this.namespaces = factory.get<V1Namespace>("v1", "Namespace");
  }

  get nodeName(): string {
    return this.options.nodeName;
  }

  static async start(options: HostletOptions): Promise<Hostlet> {
    const logger = options.logger ?? createLogger("hostlet");
    const stateDir = options.stateDir;
    for (const dir of ["pods", "volumes"]) mkdirSync(join(stateDir, dir), { recursive: true });
    const kubeletPort = options.kubeletPort ?? (await persistentPort(join(stateDir, "kubelet-port")));
    const client = new KubeClient(loadKubeConfig(options.kubeconfig));
    const cgroups = detectCgroups(options.nodeName, logger);
    const hostletCgroup = cgroups ? joinHostletCgroup(cgroups) : undefined;
    const factory = new InformerFactory(client, logger);
    const cpu = options.capacity?.cpu ?? String(os.cpus().length);
    const memory = options.capacity?.memory ?? `${Math.floor(os.totalmem() / 1024)}Ki`;
    const hostlet: Hostlet = new Hostlet(
      options,
      kubeletPort,
      client,
      factory,
      {
        nodeName: options.nodeName,
        hostIP: "127.0.0.1",
        stateDir,
        clusterDomain: options.clusterDomain ?? "cluster.local",
        client,
        logger,
        events: new EventRecorder(client, "hostlet", logger),
        catalog: ImageCatalog.load(options.imageCatalogs),
        cgroups,
        ipam: new Ipam(options.podCIDR ?? DEFAULT_POD_CIDR, join(stateDir, "ipam.json")),
        objects: new ObjectSource(client),
        nodeAllocatable: { cpu: Number(cpu), memory: os.totalmem() },
        backoff: options.restartBackoff ?? KUBELET_BACKOFF,
        services: () => hostlet.services.list(),
        pods: () => hostlet.pods.list(),
        networkChanged: () => hostlet.networkChanged(),
        finished: (uid) => {
          hostlet.workers.delete(uid);
          hostlet.isolated.delete(uid);
        },
      },
      logger,
    );
    try {
      await hostlet.run(cpu, memory, hostletCgroup);
    } catch (error) {
      await hostlet.stop();
      throw error;
    }
    return hostlet;
  }

  private async run(cpu: string, memory: string, hostletCgroup: string | undefined): Promise<void> {
    const { options, logger } = this;
    const ca = await loadCertificateAuthority(options.ca);
    const serving = await issueCertificate(ca, {
      commonName: `system:node:${options.nodeName}`,
      organizations: ["system:nodes"],
      dnsNames: [options.nodeName, "localhost"],
      ipAddresses: ["127.0.0.1"],
      usage: "server",
    });
    this.registration = new NodeRegistration(
      this.client,
      {
        nodeName: options.nodeName,
        kubeletPort: this.kubeletPort,
        podCIDR: options.podCIDR ?? DEFAULT_POD_CIDR,
        capacity: { cpu, memory, pods: options.capacity?.pods ?? "110" },
        labels: options.labels,
      },
      logger,
    );
    this.kubelet = new KubeletServer({
      port: this.kubeletPort,
      certPem: serving.certPem,
      keyPem: serving.keyPem,
      clientCaPem: options.ca.certPem,
      backend: this,
      logger,
    });
    await this.kubelet.listen();
    await this.registration.register();
    const server = new URL(this.client.kubeConfig.getCurrentCluster()!.server);
    this.router = await ServiceRouter.start({
      nodeName: options.nodeName,
      source: () => ({ services: this.services.list(), pods: this.pods.list() }),
      apiserver: { ip: server.hostname, port: Number(server.port || 443) },
      serviceCIDR: options.serviceCIDR ?? DEFAULT_SERVICE_CIDR,
      hostletCgroup,
      ...(this.context.cgroups?.v2
        ? { policies: { protectedPods: () => this.protectedPods(), parentCgroup: CGROUP_PARENT } }
        : {}),
      logger,
    });
    this.provisioner = new LocalPathProvisioner(
      this.client,
      this.factory,
      options.nodeName,
      join(options.stateDir, "volumes"),
      this.context.events,
      logger,
    );
    this.pods.addHandlers({
      add: (pod) => this.podChanged(pod),
      update: (_old, pod) => this.podChanged(pod),
      delete: (pod) => this.podDeleted(pod),
    });
    for (const informer of [this.services, this.policies, this.namespaces] as Informer<KubernetesObject>[]) {
      informer.addHandlers({
        add: () => this.networkChanged(),
        update: () => this.networkChanged(),
        delete: () => this.networkChanged(),
      });
    }
    this.factory.start();
    await this.factory.waitForSync();
    const mine = new Set(
      this.pods
        .list()
        .filter((p) => p.spec?.nodeName === options.nodeName)
        .map((p) => p.metadata!.uid!),
    );
    this.context.ipam.retain(mine);
    // Pods deleted while the hostlet was down leave directories nobody will finalize.
    for (const uid of readdirSync(join(options.stateDir, "pods"))) {
      if (!mine.has(uid)) rmSync(join(options.stateDir, "pods", uid), { recursive: true, force: true });
    }
    this.context.cgroups?.sweep(new Set([...mine, "hostlet"]));
    this.provisioner.start();
    this.registration.start();
    this.networkChanged();
    logger.info(
      {
        node: options.nodeName,
        kubeletPort: this.kubeletPort,
        routing: this.router.mode,
        cgroups: this.context.cgroups?.describe(),
      },
      "hostlet ready",
    );
  }

  private podChanged(pod: V1Pod): void {
    this.networkChanged();
    if (this.stopping || pod.spec?.nodeName !== this.options.nodeName) return;
    const uid = pod.metadata!.uid!;
    let worker = this.workers.get(uid);
    if (!worker) {
      worker = new PodWorker(pod, this.context);
      this.workers.set(uid, worker);
    }
    worker.update(pod);
  }

  private podDeleted(pod: V1Pod): void {
    this.networkChanged();
    this.workers.get(pod.metadata!.uid!)?.remove();
  }

  private networkChanged(): void {
    if (this.stopping) return;
    this.router?.changed();
    if (this.hostsTimer) return;
    this.hostsTimer = setTimeout(() => {
      this.hostsTimer = undefined;
      for (const worker of this.workers.values()) {
        try {
          worker.refreshHosts();
        } catch (error) {
          this.logger.debug({ err: errorMessage(error) }, "could not refresh a hosts file");
        }
      }
    }, 20);
  }

  /**
   * The pods of this node that NetworkPolicies protect. Peers are every pod
   * of the cluster whose cgroup exists on this host (all nodes of a cluster
   * share the host, each under `tessera/<node>`).
   */
  private protectedPods(): ProtectedPod[] {
    const v2 = this.context.cgroups!.v2!;
    const cgroupOf = (pod: V1Pod) => {
      if (!pod.spec?.nodeName) return undefined;
      const path = podCgroupPath(pod.spec.nodeName, pod.metadata!.uid!);
      return existsSync(join(v2, path)) ? path : undefined;
    };
    return computeProtectedPods({
      policies: this.policies.list(),
      namespaces: this.namespaces.list(),
      pods: this.pods.list(),
      targets: [...this.workers.values()].flatMap((w) =>
        w.ip && !w.current.spec?.hostNetwork
          ? [{ pod: w.current, ip: w.ip, cgroupPath: cgroupOf(w.current) }]
          : [],
      ),
      cgroupOf,
    });
  }

  private worker(namespace: string, name: string): PodWorker | undefined {
    return [...this.workers.values()].find(
      (w) =>
        w.current.metadata?.namespace === namespace &&
        w.current.metadata?.name === name &&
        !w.current.metadata?.deletionTimestamp,
    );
  }

  execTarget(
    namespace: string,
    pod: string,
    container: string,
    command: string[],
    tty: boolean,
  ): SandboxExecOptions | string {
    const worker = this.worker(namespace, pod);
    if (!worker) return `pod ${namespace}/${pod} is not running on node ${this.nodeName}`;
    if (this.isolated.get(worker.uid)?.refuseKubeletApi)
      return `node ${this.nodeName} is unreachable (fault injected)`;
    if (command.length === 0) return "no command given";
    return (
      worker.execOptions(container, command, tty) ??
      `container ${container} in pod ${namespace}/${pod} is not running`
    );
  }

  portForwardTarget(namespace: string, pod: string): { podIP: string } | string {
    const worker = this.worker(namespace, pod);
    if (!worker?.ip) return `pod ${namespace}/${pod} is not running on node ${this.nodeName}`;
    if (this.isolated.get(worker.uid)?.refuseKubeletApi)
      return `node ${this.nodeName} is unreachable (fault injected)`;
    return { podIP: worker.ip };
  }

  logFile(namespace: string, pod: string, container: string | undefined, previous: boolean) {
    const worker = this.worker(namespace, pod);
    if (!worker) return `pod ${namespace}/${pod} is not on node ${this.nodeName}`;
    if (this.isolated.get(worker.uid)?.refuseKubeletApi)
      return `node ${this.nodeName} is unreachable (fault injected)`;
    const name = container ?? worker.defaultContainer();
    if (!name || !worker.containerNames().includes(name))
      return `container ${name} is not valid for pod ${pod}`;
    const files = worker.logFiles(name);
    const file = previous ? files.previous : files.current;
    if (!file) {
      return previous
        ? `previous terminated container "${name}" in pod "${pod}" not found`
        : `container "${name}" in pod "${pod}" is waiting to start`;
    }
    return {
      file,
      running: () => !previous && worker.isRunning(name) && worker.logFiles(name).current === file,
    };
  }

  async fault(action: string, namespace: string, pod: string, params: URLSearchParams): Promise<string> {
    const worker = this.worker(namespace, pod);
    if (!worker) throw new Error(`pod ${namespace}/${pod} is not on node ${this.nodeName}`);
    switch (action) {
      case "kill": {
        const container = params.get("container") ?? worker.defaultContainer()!;
        if (!worker.killContainer(container)) throw new Error(`container ${container} is not running`);
        return `killed ${container}`;
      }
      case "freeze":
      case "thaw":
        worker.setFrozen(action === "freeze");
        return `${action === "freeze" ? "frozen" : "thawed"}`;
      case "isolate":
        if (!worker.ip) throw new Error("the pod has no IP yet");
        this.isolated.set(worker.uid, { refuseKubeletApi: params.get("refuseKubeletApi") === "true" });
        await this.applyIsolation();
        return "isolated";
      case "restore":
        this.isolated.delete(worker.uid);
        await this.applyIsolation();
        return "restored";
      default:
        throw new Error(`unknown fault ${action}`);
    }
  }

  private async applyIsolation(): Promise<void> {
    const pods = [...this.isolated.keys()].flatMap((uid) => {
      const worker = this.workers.get(uid);
      return worker?.ip ? [{ ip: worker.ip, cgroupPath: worker.cgroupPath }] : [];
    });
    await this.router!.setIsolated(pods);
  }

  /** Stops every container (SIGTERM, SIGKILL after `graceMs`), the kubelet API and the routes; pod data stays. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.hostsTimer);
    this.registration?.stop();
    await this.kubelet?.close().catch(() => undefined);
    await Promise.all([...this.workers.values()].map((w) => w.shutdown(graceMs)));
    await this.provisioner?.stop();
    await this.factory.stop();
    await this.router
      ?.close()
      .catch((error) => this.logger.warn({ err: errorMessage(error) }, "could not remove routes"));
    this.context.cgroups?.sweep(new Set(["hostlet"]));
    leaveHostletCgroup(this.context.cgroups);
    this.client.close();
  }
}

/** The kubelet port kept in the state directory; a new one when something else has taken it meanwhile. */
async function persistentPort(file: string): Promise<number> {
  if (existsSync(file)) {
    const kept = Number(readFileSync(file, "utf8"));
    if (!(await isListening("127.0.0.1", kept))) return kept;
  }
  const port = await freePort();
  writeFileSync(file, String(port));
  return port;
}

function detectCgroups(nodeName: string, logger: Logger): CgroupLayout | undefined {
  try {
    const layout = CgroupLayout.detect(nodeName);
    return layout.mounts().length > 0 ? layout : undefined;
  } catch (error) {
    logger.warn({ err: errorMessage(error) }, "cgroups unavailable: no resource limits, freeze by signals");
    return undefined;
  }
}

/**
 * Moves the hostlet into its own cgroup2 directory, so network isolation
 * can tell its probe connections from everything else on the host.
 */
function joinHostletCgroup(layout: CgroupLayout): string | undefined {
  if (!layout.v2) return undefined;
  const path = join(layout.base, "hostlet");
  try {
    mkdirSync(join(layout.v2, path), { recursive: true });
    writeFileSync(join(layout.v2, path, "cgroup.procs"), String(process.pid));
    return path;
  } catch {
    return undefined;
  }
}

function leaveHostletCgroup(layout: CgroupLayout | undefined): void {
  if (!layout?.v2) return;
  try {
    writeFileSync(join(layout.v2, "cgroup.procs"), String(process.pid));
    layout.sweep(new Set());
    layout.removeBase();
  } catch {
    // Left for the next start's sweep.
  }
}
