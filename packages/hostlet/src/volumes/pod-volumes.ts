import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, normalize } from "node:path";
import type { V1Container, V1Pod, V1Volume, V1VolumeProjection } from "@kubernetes/client-node";
import type { Mount } from "../runtime/bwrap.js";
import { formatMap, podFieldValue, resourceFieldValue, type EnvContext } from "../pods/env.js";
import { expandVariables } from "../pods/expand.js";
import { writePayload, type PayloadFile } from "./atomic-writer.js";
import type { ObjectSource } from "./object-source.js";

export class VolumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VolumeError";
  }
}

/** Volumes whose content the hostlet writes and keeps current. */
const PROJECTED_KINDS = ["configMap", "secret", "downwardAPI", "projected"] as const;

/**
 * Prepares a pod's volumes under `<podDir>/volumes/<name>` (or finds the
 * host directory behind a claim or hostPath) and turns container volume
 * mounts into sandbox bind mounts. ConfigMap, Secret, downward API and
 * projected volumes are rewritten atomically on each refresh, so label and
 * annotation changes and updated ConfigMaps reach running containers.
 */
export class PodVolumes {
  private readonly sources = new Map<string, string>();

  constructor(
    private readonly pod: () => V1Pod,
    private readonly podDir: string,
    private readonly objects: ObjectSource,
    private readonly context: () => Pick<EnvContext, "podIP" | "hostIP" | "nodeAllocatable">,
  ) {}

  private get fsGroup(): number | undefined {
    return this.pod().spec?.securityContext?.fsGroup ?? undefined;
  }

  /** Sets up every volume; throws VolumeError with a message for the pod's events when one cannot be. */
  async prepare(): Promise<void> {
    // Independent of each other: their reads from the apiserver overlap.
    const volumes = this.pod().spec?.volumes ?? [];
    const sources = await Promise.all(volumes.map((volume) => this.prepareVolume(volume)));
    volumes.forEach((volume, i) => this.sources.set(volume.name, sources[i]!));
  }

  /** Re-renders the content volumes (ConfigMap, Secret, downward API, projected). */
  async refresh(): Promise<void> {
    for (const volume of this.pod().spec?.volumes ?? []) {
      if (PROJECTED_KINDS.some((kind) => volume[kind])) await this.prepareVolume(volume);
    }
  }

  private async prepareVolume(volume: V1Volume): Promise<string> {
    const dir = join(this.podDir, "volumes", volume.name);
    if (volume.emptyDir) {
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        // Explicitly: the mode given to mkdir is narrowed by the umask.
        chmodSync(dir, 0o777);
        if (this.fsGroup !== undefined) chownSync(dir, -1, this.fsGroup);
      }
      return dir;
    }
    if (volume.hostPath) {
      if (volume.hostPath.type === "DirectoryOrCreate") mkdirSync(volume.hostPath.path, { recursive: true });
      if (!existsSync(volume.hostPath.path))
        throw new VolumeError(`hostPath ${volume.hostPath.path} does not exist`);
      return volume.hostPath.path;
    }
    if (volume.persistentVolumeClaim) return this.claimPath(volume.persistentVolumeClaim.claimName);
    const projections = this.projectionsOf(volume);
    if (projections) {
      const payload = new Map<string, PayloadFile>();
      const defaultMode =
        volume.secret?.defaultMode ??
        volume.configMap?.defaultMode ??
        volume.downwardAPI?.defaultMode ??
        volume.projected?.defaultMode ??
        0o644;
      for (const projection of projections) await this.project(projection, defaultMode, payload);
      writePayload(dir, payload, this.fsGroup === undefined ? undefined : { gid: this.fsGroup });
      return dir;
    }
    throw new VolumeError(
      `volume ${volume.name}: this node supports emptyDir, configMap, secret, downwardAPI, projected, hostPath and persistentVolumeClaim volumes`,
    );
  }

  private projectionsOf(volume: V1Volume): V1VolumeProjection[] | undefined {
    if (volume.configMap) return [{ configMap: volume.configMap }];
    if (volume.secret) {
      const { secretName, items, optional } = volume.secret;
      return [{ secret: { name: secretName, items, optional } }];
    }
    if (volume.downwardAPI) return [{ downwardAPI: { items: volume.downwardAPI.items } }];
    if (volume.projected) return volume.projected.sources ?? [];
    return undefined;
  }

  private async project(
    projection: V1VolumeProjection,
    defaultMode: number,
    payload: Map<string, PayloadFile>,
  ) {
    const pod = this.pod();
    const namespace = pod.metadata!.namespace!;
    const put = (path: string, content: Buffer, mode?: number) =>
      payload.set(path, { content, mode: mode ?? defaultMode });
    if (projection.configMap) {
      const ref = projection.configMap;
      const map = await this.objects.getConfigMap(namespace, ref.name!);
      if (!map) {
        if (ref.optional) return;
        throw new VolumeError(`configmap "${ref.name}" not found`);
      }
      const entries = new Map<string, Buffer>();
      for (const [key, value] of Object.entries(map.data ?? {})) entries.set(key, Buffer.from(value));
      for (const [key, value] of Object.entries(map.binaryData ?? {}))
        entries.set(key, Buffer.from(value, "base64"));
      this.selectItems(entries, ref.items, `configmap "${ref.name}"`, ref.optional ?? false, put);
    }
    if (projection.secret) {
      const ref = projection.secret;
      const secret = await this.objects.getSecret(namespace, ref.name!);
      if (!secret) {
        if (ref.optional) return;
        throw new VolumeError(`secret "${ref.name}" not found`);
      }
      const entries = new Map<string, Buffer>();
      for (const [key, value] of Object.entries(secret.data ?? {}))
        entries.set(key, Buffer.from(value, "base64"));
      this.selectItems(entries, ref.items, `secret "${ref.name}"`, ref.optional ?? false, put);
    }
    if (projection.downwardAPI) {
      const context = this.context();
      for (const item of projection.downwardAPI.items ?? []) {
        let value: string;
        if (item.fieldRef) {
          const path = item.fieldRef.fieldPath;
          value =
            path === "metadata.labels"
              ? formatMap(pod.metadata?.labels)
              : path === "metadata.annotations"
                ? formatMap(pod.metadata?.annotations)
                : podFieldValue(pod, path, context);
        } else if (item.resourceFieldRef) {
          const ref = item.resourceFieldRef;
          const container =
            pod.spec!.containers.find((c) => c.name === ref.containerName) ?? pod.spec!.containers[0]!;
          value = resourceFieldValue(
            container,
            ref.resource,
            ref.divisor === undefined ? undefined : String(ref.divisor),
            context.nodeAllocatable,
          );
        } else continue;
        put(item.path, Buffer.from(value), item.mode);
      }
    }
  }

  private selectItems(
    entries: Map<string, Buffer>,
    items: { key: string; path: string; mode?: number }[] | undefined,
    what: string,
    optional: boolean,
    put: (path: string, content: Buffer, mode?: number) => void,
  ): void {
    if (!items || items.length === 0) {
      for (const [key, value] of entries) put(key, value);
      return;
    }
    for (const item of items) {
      const value = entries.get(item.key);
      if (value === undefined) {
        if (optional) continue;
        throw new VolumeError(`${what} has no key "${item.key}"`);
      }
      put(item.path, value, item.mode);
    }
  }

  private async claimPath(claimName: string): Promise<string> {
    const namespace = this.pod().metadata!.namespace!;
    const claim = await this.objects.getClaim(namespace, claimName);
    if (!claim) throw new VolumeError(`persistentvolumeclaim "${claimName}" not found`);
    const volumeName = claim.spec?.volumeName;
    if (!volumeName || claim.status?.phase !== "Bound") {
      throw new VolumeError(`persistentvolumeclaim "${claimName}" is not bound yet`);
    }
    const volume = await this.objects.getVolume(volumeName);
    const path = volume?.spec?.local?.path ?? volume?.spec?.hostPath?.path;
    if (!path)
      throw new VolumeError(
        `persistentvolume "${volumeName}" has no local or hostPath source this node can mount`,
      );
    if (!existsSync(path))
      throw new VolumeError(`persistentvolume "${volumeName}": ${path} does not exist on this node`);
    const fsGroup = this.fsGroup;
    if (fsGroup !== undefined && lstatSync(path).gid !== fsGroup) chownTree(path, fsGroup);
    return path;
  }

  /** The container's volume mounts as bind mounts (subPath and subPathExpr resolved, created when missing). */
  mountsFor(container: V1Container, env: Record<string, string>): Mount[] {
    const mounts: Mount[] = [];
    for (const mount of container.volumeMounts ?? []) {
      const base = this.sources.get(mount.name);
      if (!base) throw new VolumeError(`container ${container.name} mounts unknown volume ${mount.name}`);
      const sub = mount.subPathExpr ? expandVariables(mount.subPathExpr, (name) => env[name]) : mount.subPath;
      let source = base;
      if (sub) {
        const clean = normalize(sub);
        if (clean.startsWith("..") || clean.startsWith("/"))
          throw new VolumeError(`subPath ${sub} must stay inside the volume`);
        source = join(base, clean);
        if (!existsSync(source)) {
          mkdirSync(source, { recursive: true });
          chmodSync(source, 0o777);
        }
      }
      mounts.push({ source, target: mount.mountPath, readOnly: mount.readOnly ?? false });
    }
    return mounts;
  }

  /** Removes what the hostlet wrote for the pod; claim and hostPath data stay. */
  cleanup(): void {
    rmSync(join(this.podDir, "volumes"), { recursive: true, force: true });
  }
}

/**
 * Gives a claim's files to the pod's fsGroup (only when the root's group
 * differs, like OnRootMismatch), group-writable with setgid directories as
 * the kubelet does, so a non-root container can write its volume.
 */
function chownTree(path: string, gid: number): void {
  chownSync(path, -1, gid);
  const stat = lstatSync(path);
  chmodSync(path, (stat.mode & 0o7777) | 0o060 | (stat.isDirectory() ? 0o2010 : 0));
  if (!stat.isDirectory()) return;
  for (const entry of readdirSync(path)) {
    const child = join(path, entry);
    if (lstatSync(child).isSymbolicLink()) continue;
    chownTree(child, gid);
  }
}
