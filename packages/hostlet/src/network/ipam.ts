import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { type Cidr, cidrContains, intToIp, parseCidr } from "./cidr.js";

interface IpamState {
  /** Offset in the range where the next search starts, so released addresses are reused last. */
  next: number;
  assigned: Record<string, string>;
}

/**
 * Pod IP allocation in the node's pod CIDR, persisted so a pod keeps its IP
 * across hostlet restarts (keyed by pod UID). Addresses are handed out
 * round-robin: a recreated pod gets a fresh address rather than the one
 * its predecessor just released.
 */
export class Ipam {
  private readonly cidr: Cidr;
  private state: IpamState;

  constructor(
    podCIDR: string,
    private readonly file?: string,
  ) {
    this.cidr = parseCidr(podCIDR);
    this.state =
      file && existsSync(file)
        ? (JSON.parse(readFileSync(file, "utf8")) as IpamState)
        : { next: 1, assigned: {} };
    for (const [uid, ip] of Object.entries(this.state.assigned)) {
      if (!cidrContains(this.cidr, ip)) delete this.state.assigned[uid];
    }
  }

  get(uid: string): string | undefined {
    return this.state.assigned[uid];
  }

  allocate(uid: string): string {
    const existing = this.state.assigned[uid];
    if (existing) return existing;
    const used = new Set(Object.values(this.state.assigned));
    const usable = this.cidr.size - 2;
    for (let i = 0; i < usable; i++) {
      const offset = ((this.state.next - 1 + i) % usable) + 1;
      const ip = intToIp(this.cidr.base + offset);
      if (used.has(ip)) continue;
      this.state.assigned[uid] = ip;
      this.state.next = (offset % usable) + 1;
      this.save();
      return ip;
    }
    throw new Error(`pod CIDR ${intToIp(this.cidr.base)}/${this.cidr.prefix} is exhausted`);
  }

  release(uid: string): void {
    if (!(uid in this.state.assigned)) return;
    delete this.state.assigned[uid];
    this.save();
  }

  /** Releases every address whose pod is not in `keep`. */
  retain(keep: Set<string>): void {
    let changed = false;
    for (const uid of Object.keys(this.state.assigned)) {
      if (!keep.has(uid)) {
        delete this.state.assigned[uid];
        changed = true;
      }
    }
    if (changed) this.save();
  }

  private save(): void {
    if (!this.file) return;
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.file}.tmp`, this.file);
  }
}
