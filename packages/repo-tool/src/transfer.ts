import { chown, mkdir, open, readFile, writeFile, type FileHandle } from "node:fs/promises";
import { PassThrough, type Duplex, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  copyAsStored,
  decode,
  decodeIntoDirectory,
  encode,
  encrypt,
  Tally,
  type Compression,
  type Decoding,
  type LocalStored,
  type Owner,
} from "./codec.js";
import type { ObjectStore } from "./store.js";

export interface PutResult {
  key: string;
  /** Bytes stored (compressed, encrypted). */
  size: number;
  /** Bytes read from the source, when the compressor reported them. */
  sourceSize?: number;
  sha256: string;
}

/** Opens a file (a FIFO waits for its writer); none means standard input or output. */
async function openFile(path: string | undefined, flags: "r" | "w"): Promise<FileHandle | undefined> {
  return path === undefined ? undefined : open(path, flags);
}

/**
 * Streams the file at `input` (standard input when none) into the store under key, encoded
 * (`compressed`: it is compressed as asked already); nothing is kept locally.
 */
export async function putStream(
  store: ObjectStore,
  key: string,
  input: string | undefined,
  options: { compression?: Compression; compressed?: boolean; encryptionKey?: string } = {},
): Promise<PutResult> {
  const compression = options.compression ?? "zstd";
  const asIs = options.compressed || compression === "none";
  if (asIs && !options.encryptionKey && input !== undefined && store.writeLocal) {
    return putAsStored(store.writeLocal.bind(store), key, input, compression, Boolean(options.compressed));
  }
  const encoded = await encode(await openFile(input, "r"), compression, options.compressed);
  const stored = new Tally();
  const body = new PassThrough();
  // A failed upload stops what feeds it, and reports its own error (it rejects before the pipeline
  // does). The body is destroyed without that error: when everything had already been written to
  // it, nothing listens for its errors any more, and one would end the process.
  const upload = store.put(key, body).catch((error: unknown) => {
    body.destroy();
    throw error;
  });
  const streams: (Readable | Duplex | Writable)[] = [
    encoded.output,
    ...(options.encryptionKey ? [encrypt(options.encryptionKey, compression)] : []),
    stored,
    body,
  ];
  await Promise.all([pipeline(streams), upload]);
  const sourceSize = await encoded.sourceBytes();
  return {
    key,
    size: stored.bytes,
    ...(sourceSize !== undefined ? { sourceSize } : {}),
    sha256: stored.hash.digest("hex"),
  };
}

/** A put with nothing to encode, into a store of local files: see copyAsStored. */
async function putAsStored(
  writeLocal: NonNullable<ObjectStore["writeLocal"]>,
  key: string,
  input: string,
  compression: Compression,
  compressed: boolean,
): Promise<PutResult> {
  const source = await open(input, "r");
  try {
    const copied = await writeLocal(key, (file) => copyAsStored(source.fd, file.fd, compression, compressed));
    return {
      key,
      size: copied.bytes,
      // The size before compression is known only where nothing compresses.
      ...(compressed ? {} : { sourceSize: copied.bytes }),
      sha256: copied.sha256,
    };
  } finally {
    await source.close();
  }
}

/**
 * Streams key out of the store, decoded, into the file at `output` (standard output when none),
 * failing at the end when the checksum differs.
 */
export async function getStream(
  store: ObjectStore,
  key: string,
  output: string | undefined,
  options: GetOptions = {},
): Promise<void> {
  await withLocalFile(store, key, options, async (local) => {
    const decoding = await decode(
      await openFile(output, "w"),
      options.compression ?? "zstd",
      options.sha256,
      options.encryptionKey,
      local,
    );
    await drain(store, key, decoding);
  });
}

export type GetOptions = { compression?: Compression; sha256?: string; encryptionKey?: string };

/** How to unpack: with `owner`, the directory and everything in it belong to that user. */
export type UnpackOptions = GetOptions & { owner?: Owner };

/**
 * Streams key, a tar archive, out of the store into the directory `dir`, unpacked as it arrives;
 * failing at the end when the checksum differs (what was unpacked is then the caller's to discard).
 */
export async function getUnpacked(
  store: ObjectStore,
  key: string,
  dir: string,
  options: UnpackOptions = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (options.owner) await chown(dir, options.owner.uid, options.owner.gid);
  await withLocalFile(store, key, options, (local) =>
    drain(
      store,
      key,
      decodeIntoDirectory(
        dir,
        options.compression ?? "zstd",
        options.sha256,
        options.encryptionKey,
        local,
        options.owner,
      ),
    ),
  );
}

/**
 * Runs `use` with the stored file open when zstd can read it itself: a store on a local file
 * system, and data this process need not decipher. Otherwise the data is streamed through here.
 */
async function withLocalFile(
  store: ObjectStore,
  key: string,
  options: GetOptions,
  use: (local: LocalStored | undefined) => Promise<void>,
): Promise<void> {
  const path = (options.compression ?? "zstd") === "zstd" && !options.encryptionKey && store.localPath?.(key);
  if (!path) return use(undefined);
  const file = await open(path, "r");
  try {
    await use({ file, ...(options.sha256 ? { expectedSha256: options.sha256 } : {}) });
  } finally {
    await file.close();
  }
}

/**
 * Ends once the tools have exited too, failed or not: nothing is still writing when it returns.
 * A tool that exits successfully as its input ends can have Node close its standard input before
 * the stream there reports it finished: the pipeline then fails with a premature close although
 * every byte was checked and the tool wrote everything. Only that combination is a success.
 */
async function drain(store: ObjectStore, key: string, decoding: Decoding): Promise<void> {
  const [piped, written] = await Promise.allSettled([
    decoding.streams.length ? pipeline([await store.get(key), ...decoding.streams]) : undefined,
    decoding.written,
  ]);
  const mismatch = decoding.mismatch();
  if (mismatch) throw mismatch;
  const closedEarly =
    piped.status === "rejected" &&
    (piped.reason as NodeJS.ErrnoException).code === "ERR_STREAM_PREMATURE_CLOSE";
  if (piped.status === "rejected" && !(closedEarly && written.status === "fulfilled" && decoding.checked())) {
    throw piped.reason;
  }
  if (written.status === "rejected") throw written.reason;
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
