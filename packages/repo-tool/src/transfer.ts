import { createReadStream, createWriteStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { PassThrough, type Duplex, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { decoders, encoders, Tally } from "./codec.js";
import type { ObjectStore } from "./store.js";

export interface PutResult {
  key: string;
  /** Bytes stored (compressed, encrypted). */
  size: number;
  /** Bytes read from the source. */
  sourceSize: number;
  sha256: string;
}

/** Streams input into the store under key, encoded; nothing is kept locally. */
export async function putStream(
  store: ObjectStore,
  key: string,
  input: Readable,
  encryptionKey?: string,
): Promise<PutResult> {
  const source = new Tally(false);
  const stored = new Tally();
  const body = new PassThrough();
  const upload = store.put(key, body).catch((error: unknown) => {
    body.destroy(error as Error);
    throw error;
  });
  const streams: (Readable | Duplex | Writable)[] = [input, source, ...encoders(encryptionKey), stored, body];
  await Promise.all([pipeline(streams), upload]);
  return { key, size: stored.bytes, sourceSize: source.bytes, sha256: stored.hash.digest("hex") };
}

/** Streams key out of the store, decoded, failing at the end when the checksum differs. */
export async function getStream(
  store: ObjectStore,
  key: string,
  output: Writable,
  sha256: string | undefined,
  encryptionKey?: string,
): Promise<void> {
  const streams: (Readable | Duplex | Writable)[] = [
    await store.get(key),
    ...decoders(sha256, encryptionKey),
    output,
  ];
  await pipeline(streams);
}

export function fileInput(path: string | undefined): Readable {
  return path ? createReadStream(path) : process.stdin;
}

export function fileOutput(path: string | undefined): Writable {
  return path ? createWriteStream(path) : process.stdout;
}

/** Key=value lines a backup command wrote about itself (positions, versions); empty when none. */
export async function readMeta(path: string | undefined): Promise<Record<string, string>> {
  if (!path) return {};
  const text = await readFile(path, "utf8").catch(() => "");
  const meta: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) meta[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return meta;
}

/** Writes the container's termination message, which is how the operator reads the result. */
export async function writeTerminationMessage(path: string, message: string): Promise<void> {
  await writeFile(path, message).catch(() => undefined);
}
