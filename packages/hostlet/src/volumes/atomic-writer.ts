import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  chmodSync,
  chownSync,
} from "node:fs";
import { dirname, join } from "node:path";

export interface PayloadFile {
  content: Buffer;
  mode: number;
}

/**
 * Writes a set of files into a volume directory the way the kubelet does,
 * so readers never see a half-updated volume: the files go into a fresh
 * timestamped directory, `..data` is switched to it with one rename, and
 * each top-level name is a symlink through `..data`. Returns false when the
 * payload was already in place.
 */
export function writePayload(
  dir: string,
  payload: Map<string, PayloadFile>,
  owner?: { gid: number },
): boolean {
  mkdirSync(dir, { recursive: true });
  const hash = createHash("sha256");
  for (const [path, file] of [...payload].sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(path).update("\0").update(String(file.mode)).update("\0").update(file.content);
  }
  const version = `..${hash.digest("hex").slice(0, 16)}`;
  const dataLink = join(dir, "..data");
  if (existsSync(dataLink) && readlinkSync(dataLink) === version) return false;
  const versionDir = join(dir, version);
  rmSync(versionDir, { recursive: true, force: true });
  mkdirSync(versionDir, { recursive: true });
  for (const [path, file] of payload) {
    const target = join(versionDir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    chmodSync(target, file.mode);
    if (owner) chownGroup(target, owner.gid);
  }
  const tmpLink = join(dir, "..data_tmp");
  rmSync(tmpLink, { force: true });
  symlinkSync(version, tmpLink);
  renameSync(tmpLink, dataLink);
  const topLevel = new Set([...payload.keys()].map((p) => p.split("/")[0]!));
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith("..")) {
      if (entry !== version && entry !== "..data") rmSync(join(dir, entry), { recursive: true, force: true });
    } else if (!topLevel.has(entry)) {
      rmSync(join(dir, entry), { recursive: true, force: true });
    }
  }
  for (const name of topLevel) {
    const link = join(dir, name);
    if (!existsSync(link)) symlinkSync(join("..data", name), link);
  }
  return true;
}

function chownGroup(path: string, gid: number): void {
  // -1 keeps the owner: only the group becomes the pod's fsGroup.
  chownSync(path, -1, gid);
}
