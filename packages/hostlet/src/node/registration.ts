import os from "node:os";
import type { V1Lease, V1Node, V1NodeCondition } from "@kubernetes/client-node";
import { errorMessage, retryOnConflict, type KubeClient, type Logger } from "@tessera/kube";

export interface NodeRegistrationOptions {
  nodeName: string;
  kubeletPort: number;
  podCIDR: string;
  capacity: { cpu: string; memory: string; pods: string };
  labels?: Record<string, string>;
  /** How often the Lease is renewed and the Ready condition refreshed. */
  heartbeatMs?: number;
}

const NOT_READY_TAINT = "node.kubernetes.io/not-ready";
const LEASE_SECONDS = 40;

/**
 * Registers the Node, keeps its Lease (kube-node-lease) renewed and its
 * Ready condition fresh, and removes the not-ready taint once ready.
 */
export class NodeRegistration {
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly options: NodeRegistrationOptions,
    private readonly logger: Logger,
  ) {}

  private get ref() {
    return { apiVersion: "v1", kind: "Node", name: this.options.nodeName };
  }

  async register(): Promise<void> {
    const { nodeName, podCIDR, labels } = this.options;
    const existing = await this.client.find<V1Node>(this.ref);
    if (!existing) {
      await this.client.create<V1Node>({
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name: nodeName,
          labels: {
            "kubernetes.io/hostname": nodeName,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": os.arch() === "x64" ? "amd64" : os.arch(),
            "tessera.dev/hostlet": "true",
            ...labels,
          },
        },
        spec: { podCIDR, podCIDRs: [podCIDR], taints: [{ key: NOT_READY_TAINT, effect: "NoSchedule" }] },
      });
      this.logger.info({ node: nodeName }, "node registered");
    }
    await this.heartbeat();
    await this.removeNotReadyTaint();
  }

  start(): void {
    const every = this.options.heartbeatMs ?? 10_000;
    const loop = async () => {
      if (this.stopped) return;
      try {
        await this.heartbeat();
      } catch (error) {
        this.logger.warn({ err: errorMessage(error) }, "node heartbeat failed");
      }
      if (!this.stopped) this.timer = setTimeout(() => void loop(), every);
    };
    this.timer = setTimeout(() => void loop(), every);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async heartbeat(): Promise<void> {
    await this.renewLease();
    await this.updateStatus();
  }

  private async renewLease(): Promise<void> {
    const { nodeName } = this.options;
    const ref = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      namespace: "kube-node-lease",
      name: nodeName,
    };
    const renewTime = new Date().toISOString().replace("Z", "000Z");
    const lease = await this.client.find<V1Lease>(ref);
    if (!lease) {
      await this.client.create<V1Lease>({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: nodeName, namespace: "kube-node-lease" },
        spec: {
          holderIdentity: nodeName,
          leaseDurationSeconds: LEASE_SECONDS,
          renewTime: renewTime as unknown as Date,
        },
      });
      return;
    }
    await this.client.patch(
      ref,
      { spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime } },
      "merge",
    );
  }

  private async updateStatus(): Promise<void> {
    const { kubeletPort, capacity } = this.options;
    const nowText = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const current = await this.client.get<V1Node>(this.ref);
    const previous = new Map((current.status?.conditions ?? []).map((c) => [c.type, c]));
    const condition = (type: string, status: string, reason: string, message: string): V1NodeCondition => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: nowText as unknown as Date,
      lastTransitionTime: (previous.get(type)?.status === status
        ? previous.get(type)!.lastTransitionTime
        : nowText) as unknown as Date,
    });
    const status = {
      capacity,
      allocatable: capacity,
      conditions: [
        condition(
          "MemoryPressure",
          "False",
          "KubeletHasSufficientMemory",
          "kubelet has sufficient memory available",
        ),
        condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        condition("Ready", "True", "KubeletReady", "hostlet is posting ready status"),
      ],
      addresses: [
        { type: "InternalIP", address: "127.0.0.1" },
        { type: "Hostname", address: this.options.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
      nodeInfo: {
        machineID: "",
        systemUUID: "",
        bootID: "",
        kernelVersion: os.release(),
        osImage: "tessera hostlet (bubblewrap sandboxes)",
        containerRuntimeVersion: "hostlet://0.1.0",
        kubeletVersion: "v1.20.2",
        kubeProxyVersion: "v1.20.2",
        operatingSystem: "linux",
        architecture: os.arch() === "x64" ? "amd64" : os.arch(),
      },
    };
    await this.client.patch(this.ref, { status }, "merge", "status");
  }

  private async removeNotReadyTaint(): Promise<void> {
    await retryOnConflict(async () => {
      const node = await this.client.get<V1Node>(this.ref);
      const taints = node.spec?.taints ?? [];
      const kept = taints.filter((t) => t.key !== NOT_READY_TAINT);
      if (kept.length === taints.length) return;
      await this.client.replace<V1Node>({ ...node, spec: { ...node.spec, taints: kept } });
    });
  }
}
