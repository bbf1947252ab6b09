import { chown, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Compression, Owner } from "./codec.js";
import { joinKey } from "./config.js";
import type { ObjectStore, StoredObject } from "./store.js";
import { getStream, getUnpacked } from "./transfer.js";

export interface FetchOptions {
  store: ObjectStore;
  backupKey: string;
  sha256?: string;
  /** How the backup is compressed (archived logs always are with zstd). */
  compression?: Compression;
  /** tar: the backup is one tar archive, unpacked into `out/backup/` as it downloads. */
  unpack?: Unpack;
  /** Where archived logs are, and the window of them a recovery needs. */
  logsPrefix?: string;
  logsFrom?: Date;
  until?: Date;
  out: string;
  encryptionKey?: string;
  /** Who the fetched files should belong to. */
  owner?: Owner;
}

/**
 * How late a log may be stored after the moment its last record was written: its upload waits for
 * the ones before it, and for the network.
 */
export const ARCHIVE_LAG_MS = 5 * 60_000;

/**
 * The logs a recovery to `until` needs: those archived from the backup on, up to and including
 * the first one stored more than the archive lag after `until` (the records written just before
 * that moment are in a log stored after it, at most that much later).
 */
export function logsToFetch(
  logs: StoredObject[],
  from: Date | undefined,
  until: Date | undefined,
): StoredObject[] {
  const ordered = logs
    .filter((log) => !from || log.modified >= from)
    .sort((a, b) => a.modified.getTime() - b.modified.getTime() || a.key.localeCompare(b.key));
  if (!until) return ordered;
  const firstAfter = ordered.findIndex((log) => log.modified.getTime() > until.getTime() + ARCHIVE_LAG_MS);
  return firstAfter < 0 ? ordered : ordered.slice(0, firstAfter + 1);
}

export const UNPACKS = ["tar"] as const;
export type Unpack = (typeof UNPACKS)[number];

/**
 * Downloads a backup (verified, decoded) to `out/backup` (a file, or the directory it unpacks
 * to) and the logs a recovery needs to `out/logs/`. Nothing is left in `out` when it fails.
 */
export async function fetchForRestore(options: FetchOptions): Promise<{ logs: number }> {
  try {
    return await fetchInto(options);
  } catch (error) {
    await rm(options.out, { recursive: true, force: true });
    throw error;
  }
}

async function fetchInto(options: FetchOptions): Promise<{ logs: number }> {
  await rm(options.out, { recursive: true, force: true });
  await mkdir(join(options.out, "logs"), { recursive: true });
  const backup = join(options.out, "backup");
  const how = {
    compression: options.compression,
    sha256: options.sha256,
    encryptionKey: options.encryptionKey,
  };
  if (options.unpack === "tar") {
    await getUnpacked(options.store, options.backupKey, backup, { ...how, owner: options.owner });
  } else {
    await getStream(options.store, options.backupKey, backup, how);
  }
  const logs = options.logsPrefix
    ? logsToFetch(await options.store.list(options.logsPrefix), options.logsFrom, options.until)
    : [];
  for (const log of logs) {
    const name = log.key.slice(log.key.lastIndexOf("/") + 1);
    await getStream(options.store, joinKey(log.key), join(options.out, "logs", name), {
      encryptionKey: options.encryptionKey,
    });
  }
  if (options.owner) await giveTo(options.out, options.owner);
  return { logs: logs.length };
}

/**
 * Reading a directory on the node may need root; the engine that restores from what was fetched
 * runs as another user, whose files they become. An unpacked backup was written as that user
 * already: only `out` itself, the backup and the logs are left to give.
 */
async function giveTo(out: string, owner: Owner): Promise<void> {
  const logs = join(out, "logs");
  const paths = [out, join(out, "backup"), logs, ...(await readdir(logs)).map((name) => join(logs, name))];
  for (const path of paths) await chown(path, owner.uid, owner.gid);
}
