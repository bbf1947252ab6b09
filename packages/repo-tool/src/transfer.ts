import { open, readFile, writeFile, type FileHandle } from "node:fs/promises";
import { PassThrough, type Duplex, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { compress, decoders, encrypt, Tally, type Compressed, type Decoding } from "./codec.js";
import type { ObjectStore } from "./store.js";

export interface PutResult {
  key: string;
  /** Bytes stored (compressed, encrypted). */
  size: number;
  /** Bytes read from the source, when the compressor reported them. */
  sourceSize?: number;
  sha256: string;
}

/** Opens a file (a FIFO waits for its writer) for a child process to use; none means standard input or output. */
async function descriptor(path: string | undefined, flags: "r" | "w"): Promise<FileHandle | undefined> {
  return path === undefined ? undefined : open(path, flags);
}

/**
 * Streams the file at `input` (standard input when none) into the store under key, encoded;
 * nothing is kept locally.
 */
export async function putStream(
  store: ObjectStore,
  key: string,
  input: string | undefined,
  encryptionKey?: string,
): Promise<PutResult> {
  const source = await descriptor(input, "r");
  let compressed: Compressed;
  try {
    compressed = compress(source?.fd ?? 0);
  } finally {
    // The compressor holds its own copy of the descriptor.
    await source?.close();
  }
  const stored = new Tally();
  const body = new PassThrough();
  const upload = store.put(key, body).catch((error: unknown) => {
    body.destroy(error as Error);
    throw error;
  });
  const streams: (Readable | Duplex | Writable)[] = [
    compressed.output,
    ...(encryptionKey ? [encrypt(encryptionKey)] : []),
    stored,
    body,
  ];
  await Promise.all([pipeline(streams), upload]);
  const sourceSize = await compressed.sourceBytes;
  return {
    key,
    size: stored.bytes,
    ...(sourceSize !== undefined ? { sourceSize } : {}),
    sha256: stored.hash.digest("hex"),
  };
}

/**
 * Streams key out of the store, decoded, into the file at `output` (standard output when none),
 * failing at the end when the checksum differs.
 */
export async function getStream(
  store: ObjectStore,
  key: string,
  output: string | undefined,
  sha256: string | undefined,
  encryptionKey?: string,
): Promise<void> {
  const target = await descriptor(output, "w");
  let decoding: Decoding;
  try {
    decoding = decoders(target?.fd ?? 1, sha256, encryptionKey);
  } finally {
    await target?.close();
  }
  decoding.exited.catch(() => undefined);
  await pipeline([await store.get(key), ...decoding.input, decoding.sink]);
  await decoding.exited;
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
