import type { V1Container, V1PersistentVolumeClaim, V1Pod, V1PodTemplateSpec } from "@kubernetes/client-node";
import { annotations, labels, type InstanceSet, type VolumeClaimTemplate } from "@tessera/api";
import { stableHash } from "../hash.js";
import { names } from "../naming.js";
import type { DesiredInstance } from "./plan.js";

/** Annotations whose change must restart an instance (they are part of its revision). */
const RESTART_ANNOTATIONS = [annotations.configHash, annotations.componentDef, annotations.restartedAt];

function claimTemplates(set: InstanceSet, instance: DesiredInstance): VolumeClaimTemplate[] {
  const base = set.spec.volumeClaimTemplates ?? [];
  const overrides = instance.template?.volumeClaimTemplates ?? [];
  return base.map((vct) => overrides.find((o) => o.name === vct.name) ?? vct);
}

function applyOverrides(containers: V1Container[], instance: DesiredInstance): V1Container[] {
  const template = instance.template;
  if (!template) return containers;
  return containers.map((container, index) => ({
    ...container,
    // Instance resources apply to the main (first) container, as in the component spec.
    ...(index === 0 && template.resources
      ? { resources: template.resources as V1Container["resources"] }
      : {}),
    env: [...(container.env ?? []), ...(template.env ?? [])],
  }));
}

export interface BuiltPod {
  pod: V1Pod;
  revision: string;
}

/** The pod of one instance: the set's template with the instance's overrides, identity and volumes. */
export function buildPod(set: InstanceSet, instance: DesiredInstance): BuiltPod {
  const template = structuredClone(set.spec.template) as V1PodTemplateSpec;
  const spec = template.spec!;
  const podLabels: Record<string, string> = {
    ...template.metadata?.labels,
    ...instance.template?.labels,
    ...set.spec.selector.matchLabels,
    [labels.podName]: instance.name,
    [labels.template]: instance.template?.name ?? "",
  };
  const podAnnotations = { ...template.metadata?.annotations, ...instance.template?.annotations };
  spec.containers = applyOverrides(spec.containers, instance);
  spec.hostname = instance.name;
  spec.subdomain = set.spec.serviceName;
  spec.volumes = [
    ...(spec.volumes ?? []),
    ...claimTemplates(set, instance).map((vct) => ({
      name: vct.name,
      persistentVolumeClaim: { claimName: names.pvc(vct.name, instance.name) },
    })),
  ];
  const revision = stableHash({
    spec,
    restart: Object.fromEntries(RESTART_ANNOTATIONS.map((a) => [a, podAnnotations[a]])),
  });
  podLabels[labels.revision] = revision;
  const pod: V1Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: instance.name,
      namespace: set.metadata.namespace,
      labels: podLabels,
      annotations: podAnnotations,
      ownerReferences: [
        {
          apiVersion: set.apiVersion,
          kind: set.kind,
          name: set.metadata.name!,
          uid: set.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };
  return { pod, revision };
}

const RECORD_KEYS = [annotations.clusterUID, annotations.terminationPolicy];

/** The set's record of its cluster (UID and termination policy), copied onto every claim it creates. */
function clusterRecord(set: InstanceSet): Record<string, string> {
  return Object.fromEntries(
    RECORD_KEYS.flatMap((key) => {
      const value = set.metadata.annotations?.[key];
      return value ? [[key, value]] : [];
    }),
  );
}

/**
 * Whether an existing claim holds data of another cluster of the same name
 * (one deleted before, whose volumes are about to go): an instance never
 * starts on it.
 */
export function isForeignClaim(claim: V1PersistentVolumeClaim, set: InstanceSet): boolean {
  const mine = set.metadata.annotations?.[annotations.clusterUID];
  const theirs = claim.metadata?.annotations?.[annotations.clusterUID];
  return Boolean(mine && theirs && mine !== theirs);
}

/**
 * The PVCs of one instance. They carry no owner reference to the set or
 * its component: data is only ever deleted by an explicit decision
 * (scale-in, or deleting the cluster under a Delete/WipeOut policy), never by
 * garbage collection of an intermediate object. They carry the set's record
 * of the cluster (UID and termination policy) that decides their fate once
 * the cluster is gone.
 */
export function buildClaims(set: InstanceSet, instance: DesiredInstance): V1PersistentVolumeClaim[] {
  return claimTemplates(set, instance).map((vct) => ({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: {
      name: names.pvc(vct.name, instance.name),
      namespace: set.metadata.namespace,
      labels: { ...set.spec.selector.matchLabels, [labels.podName]: instance.name },
      annotations: clusterRecord(set),
    },
    spec: {
      accessModes: vct.spec.accessModes ?? ["ReadWriteOnce"],
      ...(vct.spec.storageClassName ? { storageClassName: vct.spec.storageClassName } : {}),
      ...(vct.spec.volumeMode ? { volumeMode: vct.spec.volumeMode } : {}),
      resources: { requests: { storage: String(vct.spec.resources.requests.storage) } },
    },
  }));
}

/** Pod metadata that can change in place (without a restart). */
export function inPlaceMetadata(pod: V1Pod): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  return { labels: pod.metadata?.labels ?? {}, annotations: pod.metadata?.annotations ?? {} };
}
