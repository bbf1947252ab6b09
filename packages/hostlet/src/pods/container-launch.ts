import { join } from "node:path";
import type { V1Container, V1Service } from "@kubernetes/client-node";
import { milliQuantity, parseQuantity } from "@tessera/base";
import type { CatalogEntry } from "../images/catalog.js";
import type { Mount } from "../runtime/bwrap.js";
import type { ResourceLimits } from "../runtime/cgroups.js";
import { expandCommand } from "./env.js";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * A container's environment: PATH from the image catalog, HOSTNAME, the
 * apiserver's service, the image's variables, then the container's own
 * (resolved) env, which wins.
 */
export function containerEnvironment(
  entry: CatalogEntry,
  hostname: string,
  services: V1Service[],
  resolved: Record<string, string>,
): Record<string, string> {
  const kubernetes = services.find(
    (s) => s.metadata?.namespace === "default" && s.metadata?.name === "kubernetes",
  );
  return {
    PATH: [...(entry.path ?? []), DEFAULT_PATH].join(":"),
    HOSTNAME: hostname,
    ...(kubernetes?.spec?.clusterIP
      ? { KUBERNETES_SERVICE_HOST: kubernetes.spec.clusterIP, KUBERNETES_SERVICE_PORT: "443" }
      : {}),
    ...(entry.env ?? {}),
    ...resolved,
  };
}

/**
 * The command line, with Docker's rules for image defaults: `command`
 * replaces the image's entrypoint and its arguments; `args` alone replaces
 * only the arguments. `$(VAR)` is expanded in what the container sets.
 */
export function containerCommand(
  spec: V1Container,
  entry: CatalogEntry,
  env: Record<string, string>,
): string[] {
  if (spec.command?.length) return [...expandCommand(spec.command, env), ...expandCommand(spec.args, env)];
  return [...(entry.command ?? []), ...(spec.args ? expandCommand(spec.args, env) : (entry.args ?? []))];
}

/** cgroup limits from the container's resources: memory and CPU limits, CPU request as a weight. */
export function containerLimits(spec: V1Container): ResourceLimits {
  const limits = spec.resources?.limits ?? {};
  const requests = spec.resources?.requests ?? {};
  return {
    memoryBytes: parseQuantity(limits.memory),
    cpuMillis: limits.cpu !== undefined ? milliQuantity(limits.cpu) : undefined,
    cpuRequestMillis: requests.cpu !== undefined ? milliQuantity(requests.cpu) : undefined,
  };
}

/** The pod's own files every container sees, and the container's termination-message file. */
export function podFileMounts(podDir: string, spec: V1Container, terminationFile: string): Mount[] {
  const etc = join(podDir, "etc");
  return [
    { source: join(etc, "hosts"), target: "/etc/hosts" },
    { source: join(etc, "passwd"), target: "/etc/passwd", readOnly: true },
    { source: join(etc, "group"), target: "/etc/group", readOnly: true },
    { source: join(etc, "hostname"), target: "/etc/hostname", readOnly: true },
    { source: terminationFile, target: spec.terminationMessagePath ?? "/dev/termination-log" },
  ];
}
