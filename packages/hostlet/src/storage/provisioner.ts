import { chmodSync, mkdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from "@kubernetes/client-node";
import { parseQuantity } from "@tessera/base";
import {
  Controller,
  errorMessage,
  isAlreadyExists,
  type EventRecorder,
  type Informer,
  type InformerFactory,
  type KubeClient,
  type Logger,
} from "@tessera/kube";

export const PROVISIONER = "tessera.dev/local-path";
const SELECTED_NODE = "volume.kubernetes.io/selected-node";
const PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
/** The node label that local volumes' topology names. */
export const HOSTNAME_LABEL = "kubernetes.io/hostname";

/**
 * The node a claim's volume belongs on: the one the scheduler picked for a
 * WaitForFirstConsumer class (the selected-node annotation), or for an
 * Immediate class the single node its allowedTopologies name (a class for a
 * one-node cluster binds at once, without waiting for a pod).
 */
export function placementOf(
  claim: V1PersistentVolumeClaim,
  storageClass: V1StorageClass,
): string | undefined {
  if (storageClass.volumeBindingMode === "WaitForFirstConsumer")
    return claim.metadata?.annotations?.[SELECTED_NODE];
  const [term, ...otherTerms] = storageClass.allowedTopologies ?? [];
  const [expression, ...otherExpressions] = term?.matchLabelExpressions ?? [];
  const single = expression && !otherTerms.length && !otherExpressions.length;
  return single && expression.key === HOSTNAME_LABEL && expression.values.length === 1
    ? expression.values[0]
    : undefined;
}

/**
 * A local-path provisioner: for each claim of a StorageClass with this
 * provisioner that belongs on this node, it creates a directory and a PV
 * bound to the claim; it deletes the directory and the PV when a
 * Delete-policy volume is released; and it expands volumes online by
 * recording the new capacity (the directory has no quota) on the PV and the
 * claim.
 */
export class LocalPathProvisioner {
  private readonly claims: Informer<V1PersistentVolumeClaim>;
  private readonly volumes: Informer<V1PersistentVolume>;
  private readonly classes: Informer<V1StorageClass>;
  private readonly claimController: Controller;
  private readonly volumeController: Controller;

  constructor(
    private readonly client: KubeClient,
    factory: InformerFactory,
    private readonly nodeName: string,
    private readonly root: string,
    private readonly events: EventRecorder,
    logger: Logger,
  ) {
    this.claims = factory.get("v1", "PersistentVolumeClaim");
    this.volumes = factory.get("v1", "PersistentVolume");
    this.classes = factory.get("storage.k8s.io/v1", "StorageClass");
    this.claimController = new Controller({
      name: "hostlet-provisioner-claims",
      reconcile: (req) => this.reconcileClaim(req.key),
      logger,
    }).watches(this.claims);
    this.volumeController = new Controller({
      name: "hostlet-provisioner-volumes",
      reconcile: (req) => this.reconcileVolume(req.name),
      logger,
    }).watches(this.volumes);
    this.volumes.addHandlers({
      update: (_old, volume) => {
        const claim = volume.spec?.claimRef;
        if (claim?.namespace && claim.name) this.claimController.enqueue(`${claim.namespace}/${claim.name}`);
      },
    });
  }

  start(): void {
    this.claimController.start();
    this.volumeController.start();
  }

  async stop(): Promise<void> {
    await this.claimController.stop();
    await this.volumeController.stop();
  }

  private ours(volume: V1PersistentVolume): boolean {
    if (volume.metadata?.annotations?.[PROVISIONED_BY] !== PROVISIONER) return false;
    const terms = volume.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? [];
    return terms.some((t) =>
      t.matchExpressions?.some((e) => e.key === HOSTNAME_LABEL && e.values?.includes(this.nodeName)),
    );
  }

  private directoryOf(volumeName: string): string {
    return join(this.root, volumeName);
  }

  private async reconcileClaim(key: string): Promise<void> {
    const claim = this.claims.get(key);
    if (!claim || claim.metadata?.deletionTimestamp) return;
    const storageClass = this.classes.get(claim.spec?.storageClassName ?? "");
    if (storageClass?.provisioner !== PROVISIONER) return;
    if (claim.spec?.volumeName) return this.expand(claim);
    if (placementOf(claim, storageClass) !== this.nodeName) return;
    const name = `pvc-${claim.metadata!.uid}`;
    if (this.volumes.get(name)) return;
    const dir = this.directoryOf(name);
    mkdirSync(dir, { recursive: true });
    // Any pod user may write its volume (the mkdir mode would be narrowed by the umask).
    chmodSync(dir, 0o777);
    const volume: V1PersistentVolume = {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name, annotations: { [PROVISIONED_BY]: PROVISIONER } },
      spec: {
        capacity: { storage: claim.spec?.resources?.requests?.storage ?? "1Gi" },
        accessModes: claim.spec?.accessModes ?? ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? "Delete",
        storageClassName: storageClass.metadata!.name,
        volumeMode: "Filesystem",
        claimRef: {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          namespace: claim.metadata!.namespace,
          name: claim.metadata!.name,
          uid: claim.metadata!.uid,
        },
        local: { path: dir },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              {
                matchExpressions: [{ key: HOSTNAME_LABEL, operator: "In", values: [this.nodeName] }],
              },
            ],
          },
        },
      },
    };
    try {
      await this.client.create(volume);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    await this.events.record(
      claim,
      "Normal",
      "ProvisioningSucceeded",
      `Successfully provisioned volume ${name} at ${dir}`,
    );
  }

  /** Online expansion: the PV and then the claim's status report the requested size. */
  private async expand(claim: V1PersistentVolumeClaim): Promise<void> {
    const volume = this.volumes.get(claim.spec!.volumeName!);
    if (!volume || !this.ours(volume)) return;
    const requested = claim.spec?.resources?.requests?.storage;
    const capacity = volume.spec?.capacity?.storage;
    if (!requested || !capacity) return;
    const ref = { apiVersion: "v1", kind: "PersistentVolume", name: volume.metadata!.name! };
    if (parseQuantity(requested) > parseQuantity(capacity)) {
      await this.client.patch(ref, { spec: { capacity: { storage: requested } } }, "merge");
      return;
    }
    const reported = claim.status?.capacity?.storage;
    const resizing = (claim.status?.conditions ?? []).some(
      (c) => c.type === "Resizing" || c.type === "FileSystemResizePending",
    );
    if (
      claim.status?.phase === "Bound" &&
      (resizing || (reported && parseQuantity(reported) < parseQuantity(capacity)))
    ) {
      await this.client.patch(
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          namespace: claim.metadata!.namespace,
          name: claim.metadata!.name!,
        },
        { status: { capacity: { storage: capacity }, conditions: null } },
        "merge",
        "status",
      );
      await this.events.record(
        claim,
        "Normal",
        "VolumeResizeSuccessful",
        `volume ${volume.metadata!.name} is now ${capacity}`,
      );
    }
  }

  private async reconcileVolume(name: string): Promise<void> {
    const volume = this.volumes.get(name);
    if (!volume || !this.ours(volume)) return;
    if (volume.status?.phase !== "Released" || volume.spec?.persistentVolumeReclaimPolicy !== "Delete")
      return;
    const dir = resolve(volume.spec?.local?.path ?? "");
    // Asynchronous: removing a large volume must not stall the node's probes and pods.
    if (dir.startsWith(resolve(this.root) + sep)) await rm(dir, { recursive: true, force: true });
    try {
      await this.client.delete({ apiVersion: "v1", kind: "PersistentVolume", name });
    } catch (error) {
      throw new Error(`could not delete released volume ${name}: ${errorMessage(error)}`);
    }
  }
}
