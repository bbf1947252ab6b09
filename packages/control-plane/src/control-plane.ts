import { mkdirSync, readFileSync, writeFileSync, existsSync, chmodSync, rmSync } from "node:fs";
import { join } from "node:path";
import { request, type RequestOptions } from "node:https";
import { stringify } from "yaml";
import {
  createCertificateAuthority,
  issueCertificate,
  loadCertificateAuthority,
  createSigningKeyPair,
  errorMessage,
  waitFor,
  StopWaiting,
  type CertificateAuthority,
  type KeyPairPem,
} from "@tessera/kube";
import { ManagedProcess } from "@tessera/base";
import { freePort } from "@tessera/base";
import { kubeBinDir } from "./paths.js";

/** Loopback, so ClusterIPs are local addresses the node agent can route on this host. */
export const SERVICE_CIDR = "127.96.0.0/16";
const LOOPBACK = "127.0.0.1";

export interface ControlPlaneOptions {
  /** State directory: certificates, etcd data, logs and kubeconfigs live here. Reused if it exists. */
  dir: string;
  controllerManager?: boolean;
  scheduler?: boolean;
  /** Trades etcd durability for speed; right for throwaway test clusters only. */
  unsafeEtcdNoFsync?: boolean;
  readyTimeoutMs?: number;
  /** Defaults to SERVICE_CIDR; control planes sharing a host with node agents need disjoint ranges. */
  serviceCIDR?: string;
  /**
   * Writes an audit log (one JSON event per completed request, metadata only) to this path:
   * who asked the apiserver for what, e.g. to measure a controller's steady-state load.
   */
  auditLog?: string;
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
}

export interface ClientIdentity {
  user: string;
  groups?: string[];
}

/**
 * A real single-node Kubernetes control plane (etcd + kube-apiserver, and
 * optionally kube-controller-manager and kube-scheduler) on loopback ports.
 * Everything it starts is stopped by `stop()` and dies with this process.
 */
export class ControlPlane {
  private etcd?: ManagedProcess;
  private apiserver?: ManagedProcess;
  private controllerManager?: ManagedProcess;
  private scheduler?: ManagedProcess;

  private constructor(
    readonly options: ControlPlaneOptions,
    private readonly ca: CertificateAuthority,
    private readonly ports: Ports,
  ) {}

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    for (const sub of ["pki", "logs", "etcd"]) mkdirSync(join(options.dir, sub), { recursive: true });
    const ca = await ensurePki(options.dir, options.serviceCIDR ?? SERVICE_CIDR);
    for (let attempt = 1; ; attempt++) {
      const chosenNow = !existsSync(portsFile(options.dir));
      const plane = new ControlPlane(options, ca, await ensurePorts(options.dir));
      try {
        await plane.writeKubeconfig(plane.adminKubeconfigPath, {
          user: "tessera-admin",
          groups: ["system:masters"],
        });
        await plane.startEtcd();
        await plane.startApiserver();
        if (options.controllerManager) await plane.startControllerManager();
        if (options.scheduler) await plane.startScheduler();
        return plane;
      } catch (error) {
        await plane.stop();
        // A port found free can be taken by another process before etcd or the apiserver binds it.
        // Ports chosen just now are nobody's yet (kubeconfigs of a restarted plane keep theirs).
        if (!(chosenNow && attempt < 3 && /address already in use/.test(errorMessage(error)))) throw error;
        // A new plane: its etcd member, if it started, is forgotten with its ports.
        rmSync(portsFile(options.dir));
        rmSync(join(options.dir, "etcd"), { recursive: true, force: true });
        mkdirSync(join(options.dir, "etcd"));
      }
    }
  }

  get server(): string {
    return `https://${LOOPBACK}:${this.ports.apiserver}`;
  }

  get serviceCIDR(): string {
    return this.options.serviceCIDR ?? SERVICE_CIDR;
  }

  get adminKubeconfigPath(): string {
    return join(this.options.dir, "kubeconfig");
  }

  get caCertPath(): string {
    return join(this.options.dir, "pki", "ca.crt");
  }

  get caCertPem(): string {
    return this.ca.certPem;
  }

  get certificateAuthority(): CertificateAuthority {
    return this.ca;
  }

  private pki(name: string): string {
    return join(this.options.dir, "pki", name);
  }

  private logFile(name: string): string {
    return join(this.options.dir, "logs", `${name}.log`);
  }

  private get readyTimeoutMs(): number {
    return this.options.readyTimeoutMs ?? 60_000;
  }

  /** Writes a kubeconfig for a client identity authenticated by a certificate from the cluster CA. */
  writeKubeconfig(path: string, identity: ClientIdentity): Promise<string> {
    return writeClientKubeconfig(path, { ca: this.ca, server: this.server, identity });
  }

  private async startEtcd(): Promise<void> {
    const { etcdClient, etcdPeer } = this.ports;
    const args = [
      "--name=tessera",
      `--data-dir=${join(this.options.dir, "etcd")}`,
      `--listen-client-urls=http://${LOOPBACK}:${etcdClient}`,
      `--advertise-client-urls=http://${LOOPBACK}:${etcdClient}`,
      `--listen-peer-urls=http://${LOOPBACK}:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://${LOOPBACK}:${etcdPeer}`,
      `--initial-cluster=tessera=http://${LOOPBACK}:${etcdPeer}`,
      "--log-level=warn",
      "--logger=zap",
    ];
    if (this.options.unsafeEtcdNoFsync) args.push("--unsafe-no-fsync");
    this.etcd = ManagedProcess.start({ name: "etcd", command: "etcd", args, logFile: this.logFile("etcd") });
    await this.waitHealthy(this.etcd, "etcd to become healthy", async () => {
      const res = await fetch(`http://${LOOPBACK}:${etcdClient}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === "true";
    });
  }

  private auditArgs(): string[] {
    const path = this.options.auditLog;
    if (!path) return [];
    const policy = join(this.options.dir, "audit-policy.yaml");
    writeFileSync(
      policy,
      stringify({
        apiVersion: "audit.k8s.io/v1",
        kind: "Policy",
        omitStages: ["RequestReceived", "ResponseStarted"],
        rules: [{ level: "Metadata" }],
      }),
    );
    return [`--audit-policy-file=${policy}`, `--audit-log-path=${path}`, "--audit-log-format=json"];
  }

  async startApiserver(): Promise<void> {
    if (this.apiserver?.running) return;
    const pki = (name: string) => this.pki(name);
    const args = [
      `--etcd-servers=http://${LOOPBACK}:${this.ports.etcdClient}`,
      `--bind-address=${LOOPBACK}`,
      `--advertise-address=${LOOPBACK}`,
      `--secure-port=${this.ports.apiserver}`,
      "--insecure-port=0",
      `--service-cluster-ip-range=${this.serviceCIDR}`,
      // The apiserver rejects loopback addresses in Endpoints, so endpoint
      // reconciliation is off and the node agent routes services from pods.
      "--endpoint-reconciler-type=none",
      `--client-ca-file=${pki("ca.crt")}`,
      `--tls-cert-file=${pki("apiserver.crt")}`,
      `--tls-private-key-file=${pki("apiserver.key")}`,
      `--kubelet-client-certificate=${pki("apiserver-kubelet-client.crt")}`,
      `--kubelet-client-key=${pki("apiserver-kubelet-client.key")}`,
      `--kubelet-certificate-authority=${pki("ca.crt")}`,
      "--kubelet-preferred-address-types=InternalIP,Hostname",
      `--service-account-key-file=${pki("sa.pub")}`,
      `--service-account-signing-key-file=${pki("sa.key")}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      "--api-audiences=https://kubernetes.default.svc.cluster.local",
      "--authorization-mode=Node,RBAC",
      "--allow-privileged=true",
      "--profiling=false",
      "--event-ttl=1h",
      ...this.auditArgs(),
    ];
    this.apiserver = ManagedProcess.start({
      name: "kube-apiserver",
      command: join(kubeBinDir(), "kube-apiserver"),
      args,
      logFile: this.logFile("kube-apiserver"),
    });
    // /readyz does not cover the bootstrap controller, which creates the default namespace shortly after;
    // clients of a fresh control plane expect it to be there.
    await this.waitHealthy(
      this.apiserver,
      "kube-apiserver to become ready",
      async () => (await this.probeApiserver("/readyz")) && this.probeApiserver("/api/v1/namespaces/default"),
    );
  }

  /** Stops only the apiserver (etcd keeps the data), for tests of client recovery. */
  async stopApiserver(): Promise<void> {
    await this.apiserver?.stop();
  }

  private async startControllerManager(): Promise<void> {
    const kubeconfig = await this.writeKubeconfig(join(this.options.dir, "controller-manager.kubeconfig"), {
      user: "system:kube-controller-manager",
    });
    this.controllerManager = ManagedProcess.start({
      name: "kube-controller-manager",
      command: join(kubeBinDir(), "kube-controller-manager"),
      args: [
        `--kubeconfig=${kubeconfig}`,
        "--port=0",
        "--secure-port=0",
        "--leader-elect=false",
        // Endpoint controllers would write loopback pod IPs, which the apiserver rejects.
        "--controllers=*,-endpoint,-endpointslice,-endpointslicemirroring,-nodeipam,-cloud-node-lifecycle,-service,-route",
        `--service-cluster-ip-range=${this.serviceCIDR}`,
        `--service-account-private-key-file=${this.pki("sa.key")}`,
        `--root-ca-file=${this.pki("ca.crt")}`,
        `--cluster-signing-cert-file=${this.pki("ca.crt")}`,
        `--cluster-signing-key-file=${this.pki("ca.key")}`,
        "--use-service-account-credentials=true",
        "--node-monitor-grace-period=20s",
        "--pod-eviction-timeout=1m",
      ],
      logFile: this.logFile("kube-controller-manager"),
    });
    await this.waitHealthy(this.controllerManager, "kube-controller-manager to start", () =>
      this.serviceAccountExists("default", "default"),
    );
  }

  private async startScheduler(): Promise<void> {
    const kubeconfig = await this.writeKubeconfig(join(this.options.dir, "scheduler.kubeconfig"), {
      user: "system:kube-scheduler",
    });
    const port = await freePort();
    this.scheduler = ManagedProcess.start({
      name: "kube-scheduler",
      command: join(kubeBinDir(), "kube-scheduler"),
      args: [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        "--port=0",
        `--bind-address=${LOOPBACK}`,
        `--secure-port=${port}`,
        `--cert-dir=${join(this.options.dir, "scheduler-certs")}`,
        "--leader-elect=false",
      ],
      logFile: this.logFile("kube-scheduler"),
    });
    await this.waitHealthy(this.scheduler, "kube-scheduler to become healthy", () =>
      httpsGetOk({ host: LOOPBACK, port, path: "/healthz", rejectUnauthorized: false }),
    );
  }

  private async waitHealthy(proc: ManagedProcess, description: string, probe: () => Promise<boolean>) {
    await waitFor(
      async () => {
        if (!proc.running) throw new StopWaiting(proc.exitError());
        return probe();
      },
      { description, timeoutMs: this.readyTimeoutMs, intervalMs: 100 },
    ).catch((error: Error) => {
      if (proc.running) error.message += `\n${proc.spec.name} log:\n${proc.logTail()}`;
      throw error;
    });
  }

  private async serviceAccountExists(namespace: string, name: string): Promise<boolean> {
    return this.probeApiserver(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}`);
  }

  /** GET with admin credentials; true on 2xx. */
  private probeApiserver(path: string): Promise<boolean> {
    const admin = readAdminIdentity(this.options.dir);
    return httpsGetOk({
      host: LOOPBACK,
      port: this.ports.apiserver,
      path,
      ca: this.ca.certPem,
      cert: admin.certPem,
      key: admin.keyPem,
    });
  }

  /** Stops every process this control plane started, newest first. */
  async stop(): Promise<void> {
    for (const proc of [this.scheduler, this.controllerManager, this.apiserver, this.etcd]) {
      await proc?.stop();
    }
  }
}

function httpsGetOk(options: RequestOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...options, method: "GET", timeout: 2000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 300);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** The first address of the service range, which the apiserver reserves for `kubernetes.default`. */
function kubernetesServiceIP(cidr: string): string {
  const octets = cidr.split("/")[0]!.split(".").map(Number);
  octets[3] = octets[3]! + 1;
  return octets.join(".");
}

/**
 * Writes a kubeconfig (mode 0600) for `identity`, authenticated by a new client
 * certificate from `ca` (user as CN, groups as O), for the apiserver at `server`.
 */
export async function writeClientKubeconfig(
  path: string,
  target: { ca: CertificateAuthority; server: string; identity: ClientIdentity },
): Promise<string> {
  const { ca, server, identity } = target;
  const pair = await issueCertificate(ca, {
    commonName: identity.user,
    organizations: identity.groups,
    usage: "client",
  });
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "tessera", cluster: { server, "certificate-authority-data": base64(ca.certPem) } }],
    users: [
      {
        name: identity.user,
        user: {
          "client-certificate-data": base64(pair.certPem),
          "client-key-data": base64(pair.keyPem),
        },
      },
    ],
    contexts: [{ name: "tessera", context: { cluster: "tessera", user: identity.user } }],
    "current-context": "tessera",
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
  return path;
}

function base64(text: string): string {
  return Buffer.from(text).toString("base64");
}

function writePair(dir: string, name: string, pair: KeyPairPem): void {
  writeFileSync(join(dir, `${name}.crt`), pair.certPem);
  writeFileSync(join(dir, `${name}.key`), pair.keyPem, { mode: 0o600 });
}

function readAdminIdentity(dir: string): KeyPairPem {
  return {
    certPem: readFileSync(join(dir, "pki", "admin.crt"), "utf8"),
    keyPem: readFileSync(join(dir, "pki", "admin.key"), "utf8"),
  };
}

/** Creates the cluster PKI on first use; later starts reuse it so existing kubeconfigs stay valid. */
async function ensurePki(dir: string, serviceCIDR: string): Promise<CertificateAuthority> {
  const pkiDir = join(dir, "pki");
  const caCert = join(pkiDir, "ca.crt");
  const caKey = join(pkiDir, "ca.key");
  if (existsSync(caCert) && existsSync(caKey) && existsSync(join(pkiDir, "sa.key"))) {
    return loadCertificateAuthority({
      certPem: readFileSync(caCert, "utf8"),
      keyPem: readFileSync(caKey, "utf8"),
    });
  }
  const ca = await createCertificateAuthority("tessera-ca");
  writePair(pkiDir, "ca", ca);
  writePair(
    pkiDir,
    "apiserver",
    await issueCertificate(ca, {
      commonName: "kube-apiserver",
      usage: "server",
      dnsNames: [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
      ],
      ipAddresses: [LOOPBACK, kubernetesServiceIP(serviceCIDR)],
    }),
  );
  writePair(
    pkiDir,
    "apiserver-kubelet-client",
    await issueCertificate(ca, {
      commonName: "kube-apiserver-kubelet-client",
      organizations: ["system:masters"],
      usage: "client",
    }),
  );
  writePair(
    pkiDir,
    "admin",
    await issueCertificate(ca, {
      commonName: "tessera-admin",
      organizations: ["system:masters"],
      usage: "client",
    }),
  );
  const sa = await createSigningKeyPair();
  writeFileSync(join(pkiDir, "sa.pub"), sa.publicKeyPem);
  writeFileSync(join(pkiDir, "sa.key"), sa.privateKeyPem, { mode: 0o600 });
  chmodSync(caKey, 0o600);
  return ca;
}

function portsFile(dir: string): string {
  return join(dir, "ports.json");
}

/** Ports are chosen once per state directory so kubeconfigs survive a restart. */
async function ensurePorts(dir: string): Promise<Ports> {
  const file = portsFile(dir);
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as Ports;
  const ports: Ports = {
    etcdClient: await freePort(),
    etcdPeer: await freePort(),
    apiserver: await freePort(),
  };
  writeFileSync(file, JSON.stringify(ports, null, 2));
  return ports;
}
