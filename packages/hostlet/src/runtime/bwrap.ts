import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { dirname, posix } from "node:path";

/** What the argument builder needs to know about the host filesystem. */
export interface HostFs {
  kind(path: string): "dir" | "file" | "symlink" | "missing";
  readlink(path: string): string;
  list(dir: string): string[];
}

export const hostFs: HostFs = {
  kind(path) {
    try {
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) return "symlink";
      return stat.isDirectory() ? "dir" : "file";
    } catch {
      return "missing";
    }
  },
  readlink: (path) => readlinkSync(path),
  list: (dir) => readdirSync(dir),
};

export interface Mount {
  /** Host path (file or directory). */
  source: string;
  /** Absolute path inside the sandbox. */
  target: string;
  readOnly?: boolean;
}

export interface SandboxSpec {
  hostname: string;
  mounts: Mount[];
  /** Directories that must exist inside the sandbox, e.g. the working directory. */
  directories?: string[];
  workingDir?: string;
  user?: { uid: number; gid: number; groups: number[] };
  command: string[];
}

/** Host directories replaced by sandbox-private ones. */
const PRIVATE = new Set(["proc", "dev", "tmp", "run", "sys"]);

/**
 * Builds the bubblewrap command line for one container: the host's
 * top-level directories bound read-only onto a fresh root, private /proc,
 * /dev, /tmp and /run, the volumes at their mount paths, private pid, ipc
 * and uts namespaces, and the user switch. A mount path whose parent does
 * not exist on the read-only host is made possible by "shadowing" its
 * deepest existing ancestor: a tmpfs over it with each of the host's
 * entries bound back in.
 */
export function bwrapArgs(spec: SandboxSpec, fs: HostFs = hostFs): string[] {
  const args = [
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--hostname",
    spec.hostname,
  ];
  for (const entry of fs.list("/").sort()) {
    if (PRIVATE.has(entry)) continue;
    args.push(...bindBack(`/${entry}`, fs));
  }
  args.push("--ro-bind", "/sys", "/sys", "--proc", "/proc", "--dev", "/dev");
  args.push("--perms", "1777", "--tmpfs", "/dev/shm");
  args.push("--perms", "1777", "--tmpfs", "/tmp");
  args.push("--perms", "1777", "--tmpfs", "/run");

  const mounts = spec.mounts
    .map((m) => ({ ...m, target: followHostSymlinks(m.target, fs) }))
    .sort((a, b) => depth(a.target) - depth(b.target));
  const directories = [...(spec.directories ?? []), ...(spec.workingDir ? [spec.workingDir] : [])].map((d) =>
    followHostSymlinks(d, fs),
  );
  const targets = [...mounts.map((m) => m.target), ...directories];
  for (const shadow of shadowsFor(targets, fs)) {
    args.push("--tmpfs", shadow);
    for (const entry of fs.list(shadow).sort()) args.push(...bindBack(posix.join(shadow, entry), fs));
  }
  const created = new Set<string>();
  for (const mount of mounts) {
    // bubblewrap would create missing parents private (0700), unusable by a non-root user.
    for (const parent of missingParents(mount.target, targets, fs)) {
      if (created.has(parent)) continue;
      created.add(parent);
      args.push("--perms", "0755", "--dir", parent);
    }
    args.push(mount.readOnly ? "--ro-bind" : "--bind", mount.source, mount.target);
  }
  for (const dir of directories) {
    if (!targets.some((t) => t !== dir && isWithin(dir, t)) && fs.kind(dir) !== "missing") continue;
    args.push("--dir", dir);
  }
  if (spec.workingDir) args.push("--chdir", spec.workingDir);
  args.push("--");
  if (spec.user && (spec.user.uid !== 0 || spec.user.gid !== 0 || spec.user.groups.length > 0)) {
    const { uid, gid, groups } = spec.user;
    args.push("setpriv", `--reuid=${uid}`, `--regid=${gid}`);
    args.push(groups.length > 0 ? `--groups=${groups.join(",")}` : "--clear-groups");
    args.push("--");
  }
  args.push(...spec.command);
  return args;
}

/**
 * Resolves symlinked components of a sandbox path the way they resolve in
 * the sandbox (which mirrors the host), e.g. /var/run/x → /run/x, because
 * bubblewrap cannot create mount points through a symlink.
 */
export function followHostSymlinks(path: string, fs: HostFs): string {
  const parts = path.split("/").filter(Boolean);
  let resolved = "/";
  for (let i = 0, hops = 0; i < parts.length; i++) {
    const next = posix.join(resolved, parts[i]!);
    if (fs.kind(next) === "symlink" && hops++ < 16) {
      const link = fs.readlink(next);
      const target = posix.isAbsolute(link) ? link : posix.join(resolved, link);
      const rest = parts.slice(i + 1);
      return followHostSymlinks(posix.join(posix.normalize(target), ...rest), fs);
    }
    resolved = next;
  }
  return resolved;
}

function bindBack(path: string, fs: HostFs): string[] {
  switch (fs.kind(path)) {
    case "symlink":
      return ["--symlink", fs.readlink(path), path];
    case "dir":
    case "file":
      return ["--ro-bind", path, path];
    default:
      return [];
  }
}

/** Ancestors of `target` (outermost first) that exist neither on the host nor inside another mount. */
function missingParents(target: string, targets: string[], fs: HostFs): string[] {
  const parents: string[] = [];
  for (let dir = dirname(target); dir !== "/"; dir = dirname(dir)) {
    if (fs.kind(dir) !== "missing" || targets.some((other) => other !== target && isWithin(dir, other)))
      break;
    parents.unshift(dir);
  }
  return parents;
}

function depth(path: string): number {
  return path.split("/").filter(Boolean).length;
}

function isWithin(path: string, parent: string): boolean {
  return parent === "/" || path === parent || path.startsWith(parent.endsWith("/") ? parent : `${parent}/`);
}

/**
 * Ancestors that must become writable tmpfs directories so bubblewrap can
 * create missing mount points: the deepest existing host ancestor of each
 * missing target, unless that lies in a place that is already writable
 * (the new root, a private tmpfs, or another mount).
 */
function shadowsFor(targets: string[], fs: HostFs): string[] {
  const shadows = new Set<string>();
  for (const target of targets) {
    if (fs.kind(target) !== "missing") continue;
    if (targets.some((other) => other !== target && isWithin(target, other))) continue;
    let ancestor = dirname(target);
    while (ancestor !== "/" && fs.kind(ancestor) === "missing") ancestor = dirname(ancestor);
    const top = ancestor.split("/")[1] ?? "";
    if (ancestor === "/" || PRIVATE.has(top)) continue;
    if (fs.kind(ancestor) !== "dir") continue;
    shadows.add(ancestor);
  }
  return [...shadows].sort((a, b) => depth(a) - depth(b));
}
