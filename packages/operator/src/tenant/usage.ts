import { milliQuantity, scaledQuantity } from "@tessera/base";
import type { ClusterSpec, QuotaName, TenantQuota, TenantUsage } from "@tessera/api";
import { effectiveRequest, instanceScopes } from "../webhook/resources.js";

/** What Clusters use: counts, bytes, and CPU in millicores (whole numbers, so sums compare exactly). */
export type Usage = Record<QuotaName, number>;

/** Whole bytes, rounded up as Kubernetes rounds a quantity's value. */
const bytes = (value: string | number) => scaledQuantity(value, 0);

export const NO_USAGE: Usage = { cpu: 0, memory: 0, storage: 0, clusters: 0, instances: 0 };

/**
 * What one Cluster spec takes from its tenant's quota: one cluster, its
 * instances (stopped ones too: starting them again asks for nothing), and per
 * instance the CPU and memory its database container requests (the limit when
 * no request is set, as the scheduler counts it) and the size of its volumes.
 * An instance template's replicas take its own resources and claims; the
 * component's rest take the component's.
 */
export function clusterUsage(spec: Pick<ClusterSpec, "componentSpecs">): Usage {
  const usage: Usage = { ...NO_USAGE, clusters: 1 };
  const scopes = instanceScopes(spec as ClusterSpec);
  for (const component of spec.componentSpecs) {
    const replicas = component.replicas ?? 1;
    const templated = (component.instances ?? []).reduce((sum, t) => sum + (t.replicas ?? 1), 0);
    usage.instances += replicas;
    for (const scope of scopes.filter((s) => s.component === component.name)) {
      const template = component.instances?.find((t) => t.name === scope.template);
      const count = scope.template ? (template?.replicas ?? 1) : Math.max(0, replicas - templated);
      const cpu = effectiveRequest(scope, "cpu");
      const memory = effectiveRequest(scope, "memory");
      usage.cpu += count * (cpu ? milliQuantity(cpu.value) : 0);
      usage.memory += count * (memory ? bytes(memory.value) : 0);
      usage.storage +=
        count * scope.claims.reduce((sum, c) => sum + bytes(c.claim.spec.resources.requests.storage), 0);
    }
  }
  return usage;
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    cpu: a.cpu + b.cpu,
    memory: a.memory + b.memory,
    storage: a.storage + b.storage,
    clusters: a.clusters + b.clusters,
    instances: a.instances + b.instances,
  };
}

const BINARY = ["Ki", "Mi", "Gi", "Ti", "Pi"];

/** Bytes as a Kubernetes quantity, in the largest binary unit that keeps it whole (`1536Mi`, `2Gi`). */
export function formatBytes(bytes: number): string {
  let value = Math.round(bytes);
  let unit = "";
  for (const next of BINARY) {
    if (value === 0 || value % 1024 !== 0) break;
    value /= 1024;
    unit = next;
  }
  return `${value}${unit}`;
}

/** Millicores as a Kubernetes quantity: whole cores (`2`) or millicores (`1500m`). */
export function formatCpu(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** One amount as written in a quota or a message. */
export function formatAmount(name: QuotaName, value: number): string {
  if (name === "cpu") return formatCpu(value);
  if (name === "memory" || name === "storage") return formatBytes(value);
  return String(value);
}

/** Usage as the Tenant status shows it. */
export function usageStatus(usage: Usage): TenantUsage {
  return {
    cpu: formatCpu(usage.cpu),
    memory: formatBytes(usage.memory),
    storage: formatBytes(usage.storage),
    clusters: usage.clusters,
    instances: usage.instances,
  };
}

/** A quota's limit in the units of Usage, or undefined where the quota sets none. */
export function quotaLimit(quota: TenantQuota | undefined, name: QuotaName): number | undefined {
  const value = quota?.[name];
  if (value === undefined) return undefined;
  return name === "cpu" ? milliQuantity(value) : bytes(value);
}
