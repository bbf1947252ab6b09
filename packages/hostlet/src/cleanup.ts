import { fileURLToPath } from "node:url";
import { IptablesChains } from "./network/iptables.js";
import { CgroupLayout } from "./runtime/cgroups.js";

/** The hostlet's entry point, from which its bundle is built. */
export const HOSTLET_MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));

/**
 * Removes what a hostlet that was killed (SIGKILL) could not: its iptables
 * chains and cgroup directories. Its processes are already gone (they die
 * with it); a cleanly stopped hostlet leaves nothing behind.
 */
export async function cleanupNode(nodeName: string): Promise<void> {
  if (await IptablesChains.available()) await new IptablesChains(nodeName).remove();
  try {
    const layout = CgroupLayout.detect(nodeName);
    layout.sweep(new Set());
    layout.removeBase();
  } catch {
    // No writable cgroups: nothing was created.
  }
}
