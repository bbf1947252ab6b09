import { rmSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where tests put their state; the test runner points it at a per-run directory it checks afterwards. */
export function testRoot(): string {
  const root = process.env.TESSERA_TEST_ROOT ?? tmpdir();
  mkdirSync(root, { recursive: true });
  return root;
}

/** Machine-wide, so test runs of different checkouts never share a slot. */
const SLOT_DIR = join(tmpdir(), "tessera-hostlet-slots");
const SLOTS = 50;

/**
 * A network slot for one test node on this machine: node name, pod CIDR and
 * service CIDR that no other suite running at the same time uses. Taken
 * with an atomic mkdir; a slot whose owner process is gone is reclaimed.
 */
export interface NetworkSlot {
  index: number;
  nodeName: string;
  podCIDR: string;
  serviceCIDR: string;
  release(): void;
}

export function acquireNetworkSlot(): NetworkSlot {
  mkdirSync(SLOT_DIR, { recursive: true });
  for (let index = 0; index < SLOTS; index++) {
    const dir = join(SLOT_DIR, String(index));
    try {
      mkdirSync(dir);
    } catch {
      if (ownerAlive(dir)) continue;
      rmSync(dir, { recursive: true, force: true });
      try {
        mkdirSync(dir);
      } catch {
        continue;
      }
    }
    writeFileSync(join(dir, "owner"), String(process.pid));
    return {
      index,
      nodeName: `tessera-node-${index}`,
      podCIDR: `127.${130 + index}.0.0/16`,
      serviceCIDR: `127.${200 + index}.0.0/16`,
      release: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  throw new Error(`all ${SLOTS} node network slots in ${SLOT_DIR} are taken`);
}

function ownerAlive(dir: string): boolean {
  try {
    process.kill(Number(readFileSync(join(dir, "owner"), "utf8")), 0);
    return true;
  } catch (error) {
    // A slot being created right now has no owner file yet: treat it as taken.
    return (
      (error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "EPERM"
    );
  }
}
