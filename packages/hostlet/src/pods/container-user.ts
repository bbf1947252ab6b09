import type { V1Container, V1Pod } from "@kubernetes/client-node";

export interface ContainerUser {
  uid: number;
  gid: number;
  groups: number[];
}

/**
 * The user a container runs as: runAsUser/runAsGroup (container over pod),
 * with fsGroup and supplementalGroups as extra groups; undefined when
 * nothing is set (the container runs as root, like an image without USER).
 */
export function containerUser(pod: V1Pod, container: V1Container): ContainerUser | undefined {
  const podContext = pod.spec?.securityContext;
  const uid = container.securityContext?.runAsUser ?? podContext?.runAsUser;
  const gid = container.securityContext?.runAsGroup ?? podContext?.runAsGroup;
  const groups = [
    ...(podContext?.fsGroup !== undefined ? [podContext.fsGroup] : []),
    ...(podContext?.supplementalGroups ?? []),
  ];
  if (uid === undefined && gid === undefined && groups.length === 0) return undefined;
  return { uid: uid ?? 0, gid: gid ?? 0, groups };
}
