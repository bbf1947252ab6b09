import type { Role } from "@tessera/api";

/** What roleProbe prints; the parser below is its only reader. */
export const roleProbeOutput = {
  format: "<role> [<position>]",
  description:
    "The first line of stdout is the instance's role, one of the definition's `roles` (any word when it " +
    "declares none), optionally followed by its replication position, a number that is higher on a more " +
    "advanced instance (e.g. a WAL byte offset); failover promotes the most advanced replica. Further lines " +
    "are ignored. Printing nothing, or a role the definition does not declare, is a failed probe.",
} as const;

export interface RoleProbeResult {
  ok: boolean;
  role?: string;
  position?: number;
  error?: string;
}

/** Parses roleProbe's stdout, as declared in `roleProbeOutput`. */
export function parseRoleProbeOutput(stdout: string, roles: Role[]): RoleProbeResult {
  const line = stdout.trim().split("\n")[0]?.trim() ?? "";
  const [role, position] = line.split(/\s+/);
  if (!role) return { ok: false, error: "roleProbe printed nothing" };
  if (roles.length > 0 && !roles.some((r) => r.name === role)) {
    return {
      ok: false,
      error: `roleProbe printed unknown role "${role}" (roles: ${roles.map((r) => r.name).join(", ")})`,
    };
  }
  const parsed = position === undefined ? undefined : Number(position);
  return { ok: true, role, ...(parsed !== undefined && Number.isFinite(parsed) ? { position: parsed } : {}) };
}
