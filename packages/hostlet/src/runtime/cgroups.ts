import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

const V1_CONTROLLERS = ["memory", "cpu", "freezer", "pids"] as const;
type V1Controller = (typeof V1_CONTROLLERS)[number];

/** The directory every node's cgroups live under, in each hierarchy. */
export const CGROUP_PARENT = "tessera";

/** A pod's cgroup path relative to a hierarchy's root, on whichever node of this host runs it. */
export function podCgroupPath(nodeName: string, uid: string): string {
  return join(CGROUP_PARENT, nodeName, uid);
}

export interface ResourceLimits {
  memoryBytes?: number;
  cpuMillis?: number;
  cpuRequestMillis?: number;
}

/**
 * The cgroup hierarchies this host lets us write to, found by trying. Each
 * pod gets `tessera/<node>/<pod uid>` in every writable hierarchy and each
 * container a child of that. cgroup v1 controllers are used where mounted
 * and writable; the cgroup2 hierarchy (mounted at /sys/fs/cgroup/unified
 * next to v1, or at /sys/fs/cgroup alone) always gets the pod directory,
 * which network isolation matches on, and supplies memory/cpu/freeze when
 * v1 does not.
 */
export class CgroupLayout {
  private constructor(
    readonly v1: Partial<Record<V1Controller, string>>,
    readonly v2: string | undefined,
    readonly v2Controllers: Set<string>,
    readonly base: string,
  ) {}

  static detect(nodeName: string, root = "/sys/fs/cgroup"): CgroupLayout {
    const base = join(CGROUP_PARENT, nodeName);
    const v1: Partial<Record<V1Controller, string>> = {};
    for (const controller of V1_CONTROLLERS) {
      const mount = join(root, controller);
      if (existsSync(join(mount, "tasks")) && tryMkdir(join(mount, base))) v1[controller] = mount;
    }
    let v2: string | undefined;
    for (const candidate of [join(root, "unified"), root]) {
      if (existsSync(join(candidate, "cgroup.controllers")) && tryMkdir(join(candidate, base))) {
        v2 = candidate;
        break;
      }
    }
    const controllers = new Set<string>();
    if (v2) {
      for (const c of readFileSync(join(v2, "cgroup.controllers"), "utf8").split(/\s+/).filter(Boolean)) {
        if ((c === "memory" && !v1.memory) || (c === "cpu" && !v1.cpu)) controllers.add(c);
      }
      if (controllers.size > 0) enableControllers(v2, base, controllers);
    }
    return new CgroupLayout(v1, v2, controllers, base);
  }

  /** What resource control is available, for the node's startup log and docs. */
  describe(): Record<string, string> {
    return {
      memory: this.v1.memory ? "cgroup v1" : this.v2Controllers.has("memory") ? "cgroup v2" : "none",
      cpu: this.v1.cpu ? "cgroup v1" : this.v2Controllers.has("cpu") ? "cgroup v2" : "none",
      freeze:
        this.v2 && existsSync(join(this.v2, this.base, "cgroup.freeze"))
          ? "cgroup v2"
          : this.v1.freezer
            ? "cgroup v1"
            : "signals",
      isolation: this.v2 ? "cgroup v2 path match" : "none",
    };
  }

  pod(uid: string): PodCgroup {
    return new PodCgroup(this, join(this.base, uid));
  }

  /** Removes cgroups left behind by an earlier run of this node (their processes died with it). */
  sweep(keepUids: Set<string>): void {
    for (const mount of this.mounts()) {
      const dir = join(mount, this.base);
      if (!existsSync(dir)) continue;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory() && !keepUids.has(entry.name)) removeTree(join(dir, entry.name));
      }
    }
  }

  /** Removes this node's (empty) cgroup directories and the shared parent when no other node uses it. */
  removeBase(): void {
    for (const mount of this.mounts()) {
      for (const dir of [join(mount, this.base), join(mount, CGROUP_PARENT)]) {
        try {
          rmdirSync(dir);
        } catch {
          // Not empty: still in use.
        }
      }
    }
  }

  mounts(): string[] {
    return [...Object.values(this.v1), ...(this.v2 ? [this.v2] : [])];
  }
}

export class PodCgroup {
  constructor(
    readonly layout: CgroupLayout,
    /** Relative to each hierarchy's root, e.g. `tessera/node-a/<uid>`. */
    readonly path: string,
  ) {}

  create(): void {
    for (const mount of this.layout.mounts()) mkdirSync(join(mount, this.path), { recursive: true });
    if (this.layout.v2Controllers.size > 0) {
      enableControllers(this.layout.v2!, this.path, this.layout.v2Controllers);
    }
  }

  container(name: string): ContainerCgroup {
    return new ContainerCgroup(this.layout, join(this.path, name));
  }

  /** The pod's path in the cgroup2 hierarchy, for `iptables -m cgroup --path`. */
  get v2Path(): string | undefined {
    return this.layout.v2 ? this.path : undefined;
  }

  /** Freezes or thaws every process of the pod; false when no freezer is available. */
  setFrozen(frozen: boolean): boolean {
    const v2File = this.layout.v2 ? join(this.layout.v2, this.path, "cgroup.freeze") : undefined;
    if (v2File && existsSync(v2File)) {
      writeFileSync(v2File, frozen ? "1" : "0");
      return true;
    }
    if (this.layout.v1.freezer) {
      writeFileSync(join(this.layout.v1.freezer, this.path, "freezer.state"), frozen ? "FROZEN" : "THAWED");
      return true;
    }
    return false;
  }

  /** Removes the pod's cgroups and its containers', their memory released first (see releaseMemory). */
  async remove(): Promise<void> {
    await releaseMemory(this.layout, this.path);
    for (const mount of this.layout.mounts()) removeTree(join(mount, this.path));
  }
}

export class ContainerCgroup {
  constructor(
    readonly layout: CgroupLayout,
    readonly path: string,
  ) {}

  /**
   * Creates the container's cgroups (fresh: those of its previous run, kept after it exited, are
   * removed) and returns the `cgroup.procs` files a process must join.
   */
  async create(limits: ResourceLimits): Promise<string[]> {
    await releaseMemory(this.layout, this.path);
    const files: string[] = [];
    for (const mount of this.layout.mounts()) {
      const dir = join(mount, this.path);
      removeTree(dir);
      mkdirSync(dir, { recursive: true });
      files.push(join(dir, "cgroup.procs"));
    }
    this.applyLimits(limits);
    return files;
  }

  private applyLimits(limits: ResourceLimits): void {
    const { v1, v2, v2Controllers } = this.layout;
    if (limits.memoryBytes !== undefined) {
      const bytes = String(Math.floor(limits.memoryBytes));
      if (v1.memory) writeFileSync(join(v1.memory, this.path, "memory.limit_in_bytes"), bytes);
      else if (v2 && v2Controllers.has("memory")) {
        writeFileSync(join(v2, this.path, "memory.max"), bytes);
        writeIfExists(join(v2, this.path, "memory.swap.max"), "0");
      }
    }
    const period = 100_000;
    if (limits.cpuMillis !== undefined) {
      const quota = String(Math.max(1000, Math.round((limits.cpuMillis * period) / 1000)));
      if (v1.cpu) {
        writeFileSync(join(v1.cpu, this.path, "cpu.cfs_period_us"), String(period));
        writeFileSync(join(v1.cpu, this.path, "cpu.cfs_quota_us"), quota);
      } else if (v2 && v2Controllers.has("cpu")) {
        writeFileSync(join(v2, this.path, "cpu.max"), `${quota} ${period}`);
      }
    }
    if (limits.cpuRequestMillis !== undefined && v1.cpu) {
      const shares = Math.max(2, Math.round((limits.cpuRequestMillis * 1024) / 1000));
      writeFileSync(join(v1.cpu, this.path, "cpu.shares"), String(shares));
    }
  }

  /** The `cgroup.procs` files of the container's existing cgroups, for processes joining it later (exec). */
  procsFiles(): string[] {
    return this.layout
      .mounts()
      .map((mount) => join(mount, this.path, "cgroup.procs"))
      .filter((f) => existsSync(f));
  }

  /** How many times the kernel's OOM killer has killed a process of this container. */
  oomKills(): number {
    const { v1, v2 } = this.layout;
    const file = v1.memory
      ? join(v1.memory, this.path, "memory.oom_control")
      : v2
        ? join(v2, this.path, "memory.events")
        : undefined;
    if (!file || !existsSync(file)) return 0;
    const match = /^oom_kill (\d+)$/m.exec(readFileSync(file, "utf8"));
    return match ? Number(match[1]) : 0;
  }
}

function tryMkdir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

function writeIfExists(file: string, value: string): void {
  if (existsSync(file)) writeFileSync(file, value);
}

/** cgroup2 delegates controllers level by level: enable them on every ancestor of `path`. */
function enableControllers(root: string, path: string, controllers: Set<string>): void {
  const parts = path.split("/");
  const line = [...controllers].map((c) => `+${c}`).join(" ");
  for (let i = 0; i <= parts.length - 1; i++) {
    const dir = join(root, ...parts.slice(0, i));
    try {
      writeFileSync(join(dir, "cgroup.subtree_control"), line);
    } catch {
      return;
    }
  }
}

/**
 * Empties a cgroup v1 memory cgroup and those below it before they are removed: the page cache
 * their processes brought in (the engine's binaries and libraries, files that outlive the pod)
 * stays charged to them, and the kernel keeps a removed cgroup with pages charged. Hundreds of
 * those, one per container run, made all memory accounting slower. Emptying writes back what is
 * dirty, seconds for a restore's unpacked data: it runs off the event loop, and a container's
 * cgroup is kept after it exits until its pod goes or it runs again, so its removal is never on
 * the way of what starts next.
 */
async function releaseMemory(layout: CgroupLayout, path: string): Promise<void> {
  if (!layout.v1.memory) return;
  const empty = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) await empty(join(dir, entry.name));
    // r+: written only where the kernel offers the file, never created.
    await writeFile(join(dir, "memory.force_empty"), "0", { flag: "r+" }).catch(() => undefined);
  };
  await empty(join(layout.v1.memory, path));
}

/** rmdir depth-first; cgroup directories cannot be removed with their pseudo-files' contents. */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // Still busy (a process is exiting); the next sweep removes it.
  }
}
