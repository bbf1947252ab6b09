import type { V1Pod, V1Service } from "@kubernetes/client-node";
import { servicePods } from "./endpoints.js";

export interface HostsInput {
  pod: V1Pod;
  podIP: string;
  clusterDomain: string;
  services: V1Service[];
  pods: V1Pod[];
}

/**
 * A pod's /etc/hosts, standing in for cluster DNS: the pod's own names,
 * every service as `<svc>.<ns>.svc.<domain>` (plus `<svc>.<ns>` and, in the
 * pod's namespace, `<svc>`), and for headless services the names of the
 * pods behind them (`<hostname>.<svc>.<ns>.svc.<domain>`) and the service
 * name itself for each of their addresses.
 */
export function renderHosts(input: HostsInput): string {
  const { pod, podIP, clusterDomain } = input;
  const namespace = pod.metadata!.namespace!;
  const hostname = pod.spec?.hostname || pod.metadata!.name!;
  const lines = [
    "# Kubernetes-managed hosts file (tessera hostlet).",
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
  ];
  const own = [hostname];
  if (pod.spec?.subdomain) own.unshift(`${hostname}.${pod.spec.subdomain}.${namespace}.svc.${clusterDomain}`);
  lines.push(`${podIP}\t${own.join(" ")}`);
  const sorted = [...input.services].sort((a, b) => key(a).localeCompare(key(b)));
  for (const service of sorted) {
    const ns = service.metadata!.namespace!;
    const name = service.metadata!.name!;
    const names = [`${name}.${ns}.svc.${clusterDomain}`, `${name}.${ns}.svc`, `${name}.${ns}`];
    if (ns === namespace) names.push(name);
    const clusterIP = service.spec?.clusterIP;
    if (clusterIP && clusterIP !== "None") {
      lines.push(`${clusterIP}\t${names.join(" ")}`);
      continue;
    }
    if (clusterIP !== "None") continue;
    const members = servicePods(service, input.pods).sort((a, b) =>
      a.metadata!.name!.localeCompare(b.metadata!.name!),
    );
    for (const member of members) {
      const memberHost = member.spec?.hostname || member.metadata!.name!;
      const memberNames: string[] = [];
      if (member.spec?.subdomain === name) {
        memberNames.push(
          `${memberHost}.${name}.${ns}.svc.${clusterDomain}`,
          `${memberHost}.${name}.${ns}.svc`,
        );
        if (ns === namespace) memberNames.push(`${memberHost}.${name}`);
      }
      memberNames.push(...names);
      if (member.metadata?.uid === pod.metadata?.uid) continue;
      lines.push(`${member.status!.podIP}\t${memberNames.join(" ")}`);
    }
  }
  return lines.join("\n") + "\n";
}

function key(service: V1Service): string {
  return `${service.metadata?.namespace}/${service.metadata?.name}`;
}
