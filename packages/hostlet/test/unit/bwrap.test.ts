import { test } from "node:test";
import assert from "node:assert/strict";
import { bwrapArgs, followHostSymlinks, type HostFs } from "../../src/runtime/bwrap.js";

/** A small host: merged /usr, /etc with two entries, /var/run → /run. */
const tree: Record<string, "dir" | "file" | string> = {
  "/": "dir",
  "/usr": "dir",
  "/etc": "dir",
  "/etc/passwd": "file",
  "/etc/redis": "dir",
  "/var": "dir",
  "/var/run": "->/run",
  "/bin": "->usr/bin",
  "/proc": "dir",
  "/tmp": "dir",
  "/run": "dir",
};
const fakeFs: HostFs = {
  kind: (path) => {
    const entry = tree[path];
    if (!entry) return "missing";
    return entry.startsWith("->") ? "symlink" : (entry as "dir" | "file");
  },
  readlink: (path) => tree[path]!.slice(2),
  list: (dir) =>
    Object.keys(tree)
      .filter(
        (p) =>
          p !== dir && p.startsWith(dir === "/" ? "/" : `${dir}/`) && !p.slice(dir.length + 1).includes("/"),
      )
      .map((p) => p.slice(dir === "/" ? 1 : dir.length + 1)),
};

function pairs(args: string[], flag: string): string[][] {
  const out: string[][] = [];
  args.forEach((a, i) => a === flag && out.push(args.slice(i + 1, i + 3)));
  return out;
}

test("the host root is bound read-only, with private /proc, /dev, /tmp and /run and private namespaces", () => {
  const args = bwrapArgs({ hostname: "db-0", mounts: [], command: ["redis-server"] }, fakeFs);
  assert.deepEqual(args.slice(0, 7), [
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--hostname",
    "db-0",
  ]);
  assert.deepEqual(pairs(args, "--ro-bind").slice(0, 3), [
    ["/etc", "/etc"],
    ["/usr", "/usr"],
    ["/var", "/var"],
  ]);
  assert.deepEqual(pairs(args, "--symlink"), [["usr/bin", "/bin"]]);
  assert.ok(args.join(" ").includes("--proc /proc --dev /dev"));
  assert.ok(args.join(" ").includes("--tmpfs /tmp"));
  assert.deepEqual(args.slice(-2), ["--", "redis-server"]);
});

test("volumes are bound at their mount paths, parents first, through symlinks and shadowed read-only parents", () => {
  const args = bwrapArgs(
    {
      hostname: "p",
      mounts: [
        { source: "/state/conf", target: "/data/conf", readOnly: true },
        { source: "/state/data", target: "/data" },
        { source: "/state/sa", target: "/var/run/secrets/sa", readOnly: true },
        { source: "/state/app.conf", target: "/etc/app/app.conf", readOnly: true },
      ],
      command: ["true"],
    },
    fakeFs,
  );
  const text = args.join(" ");
  assert.ok(text.indexOf("--bind /state/data /data") < text.indexOf("--ro-bind /state/conf /data/conf"));
  assert.ok(
    text.includes("--ro-bind /state/sa /run/secrets/sa"),
    "a target under a symlink resolves through it",
  );
  // /etc/app does not exist on the read-only host: /etc becomes a tmpfs with the host's entries bound back.
  assert.ok(text.includes("--tmpfs /etc --ro-bind /etc/passwd /etc/passwd --ro-bind /etc/redis /etc/redis"));
  assert.ok(text.indexOf("--tmpfs /etc") < text.indexOf("/etc/app/app.conf"));
});

test("runAsUser switches user with setpriv; the working directory is created when missing", () => {
  const args = bwrapArgs(
    {
      hostname: "p",
      mounts: [],
      workingDir: "/work",
      user: { uid: 999, gid: 999, groups: [2000] },
      command: ["id"],
    },
    fakeFs,
  );
  assert.deepEqual(args.slice(args.indexOf("--") + 1), [
    "setpriv",
    "--reuid=999",
    "--regid=999",
    "--groups=2000",
    "--",
    "id",
  ]);
  assert.ok(args.join(" ").includes("--dir /work --chdir /work"));
});

test("followHostSymlinks resolves absolute and relative links", () => {
  assert.equal(followHostSymlinks("/var/run/secrets", fakeFs), "/run/secrets");
  assert.equal(followHostSymlinks("/bin/sh", fakeFs), "/usr/bin/sh");
});
