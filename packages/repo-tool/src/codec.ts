import { spawn, type ChildProcess } from "node:child_process";
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { readSync, writeSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { pipeline, Transform, type Readable, type TransformCallback, type Writable } from "node:stream";
import { finished } from "node:stream/promises";

/**
 * How backups are stored: zstd (level 1 on every core: the network or the disk, not the CPU,
 * should bound a backup; gzip would be several times slower than the engine's own copy), then
 * optionally AES-256-CTR with a random IV written first. The SHA-256 covers the stored bytes, so a
 * restore detects any change before the data is used.
 */
const IV_BYTES = 16;

function keyFrom(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** Counts what passes through, and hashes it unless told not to. */
export class Tally extends Transform {
  readonly hash = createHash("sha256");
  bytes = 0;

  constructor(private readonly hashing = true) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.hashing) this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/** A user and group, by number. */
export interface Owner {
  uid: number;
  gid: number;
}

/** A helper process (zstd, tar); `exited` settles with its exit status, rejecting with its stderr when it failed. */
interface Tool {
  child: ChildProcess;
  /** What it wrote to stderr (zstd with -vv: a summary of the sizes it read and wrote). */
  exited: Promise<string>;
}

/**
 * Runs a tool with the given standard input and output: an open file descriptor hands the data
 * straight to it (the bytes never pass through this process), "pipe" gives a stream here.
 */
function runTool(
  command: string,
  args: string[],
  input: number | "pipe" | Readable,
  output: number | "pipe" | "ignore",
  user?: Owner,
): Tool {
  const child = spawn(command, args, { stdio: [input, output, "pipe"], ...user });
  const stderr: Buffer[] = [];
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<string>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const text = Buffer.concat(stderr).toString().trim();
      const status = signal ? `ended by ${signal}` : `exit status ${code}`;
      if (code === 0) resolve(text);
      else reject(new Error(`${command} failed (${status}): ${text.slice(-1000)}`));
    });
  });
  return { child, exited };
}

/**
 * How many bytes zstd read, from the summary -vv prints: "(N B => M B, ...)" since zstd 1.5,
 * "(N => M bytes, ...)" before.
 */
export function readBytes(summary: string): number | undefined {
  const match = /\(\s*(\d+)\s*(?:B\s*)?=>\s*\d+\s*(?:B|bytes)\b/.exec(summary);
  return match ? Number(match[1]) : undefined;
}

/** How stored data is compressed: zstd, or not at all. */
export const COMPRESSIONS = ["zstd", "none"] as const;
export type Compression = (typeof COMPRESSIONS)[number];

/**
 * What every stored stream starts with once deciphered, which tells a wrong key: a zstd frame,
 * or for uncompressed data this marker, written before the data when it is encrypted.
 */
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const PLAIN_MARKER = Buffer.from("TSR\0", "latin1");
const LEADING: Record<Compression, Buffer> = { zstd: ZSTD_MAGIC, none: PLAIN_MARKER };

/** Chunks read and written by this process where the data passes through it. */
const CHUNK_BYTES = 1 << 20;

export interface Encoded {
  /** The stream to store (before encryption); it ends only once the whole source was read, else it fails. */
  output: Readable;
  /** How many bytes were read from the source, once the output ended (unknown when zstd did not say). */
  sourceBytes: () => Promise<number | undefined>;
}

/** Passes a stream through, failing as soon as it does not start as the compression's output does. */
class Leading extends Transform {
  private seen = Buffer.alloc(0);

  constructor(private readonly leading: Buffer) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.seen.length < this.leading.length) {
      this.seen = Buffer.concat([this.seen, chunk.subarray(0, this.leading.length - this.seen.length)]);
      if (!this.leading.subarray(0, this.seen.length).equals(this.seen)) return done(notCompressed());
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    done(this.seen.length === this.leading.length ? null : notCompressed());
  }
}

function notCompressed(): Error {
  return new Error(
    "the backup command was asked to compress its output but did not: it does not start as a compressed stream does",
  );
}

/**
 * Copies an input stored as it is (compressed by the engine already, or not at all; unencrypted)
 * into an open file, hashing it on the way, through one buffer and synchronously: nothing else
 * runs in this process meanwhile. Streams cost over twice the CPU for the same copy (a fresh
 * buffer for every chunk, and their machinery): 600 MB from a FIFO took 2.4 s of CPU, now 0.9 s,
 * on the cores the engine compresses on.
 */
export function copyAsStored(
  source: number,
  output: number,
  compression: Compression,
  compressed: boolean,
): { bytes: number; sha256: string } {
  const leading = compressed ? LEADING[compression] : Buffer.alloc(0);
  const hash = createHash("sha256");
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let bytes = 0;
  for (;;) {
    const read = readSync(source, buffer, 0, buffer.length, null);
    if (read === 0) break;
    const chunk = buffer.subarray(0, read);
    if (bytes < leading.length) {
      const expected = leading.subarray(bytes, bytes + read);
      if (!chunk.subarray(0, expected.length).equals(expected)) throw notCompressed();
    }
    hash.update(chunk);
    for (let written = 0; written < read;) written += writeSync(output, chunk, written);
    bytes += read;
  }
  if (bytes < leading.length) throw notCompressed();
  return { bytes, sha256: hash.digest("hex") };
}

/**
 * Reads the source (standard input when none; the handle is closed here) compressed as asked.
 * zstd reads the source itself: only the compressed bytes, about half as many, pass through this
 * process. A source the engine compressed already (`compressed`) is stored as it is.
 */
export async function encode(
  source: FileHandle | undefined,
  compression: Compression,
  compressed = false,
): Promise<Encoded> {
  if (compression === "none" || compressed) {
    const read = source ? source.createReadStream({ highWaterMark: CHUNK_BYTES }) : process.stdin;
    const count = new Tally(false);
    const check = compression === "none" ? [] : [new Leading(LEADING[compression])];
    pipeline([read, ...check, count], () => undefined);
    // The size before compression is known only where this process compresses, or nothing does.
    return { output: count, sourceBytes: async () => (compressed ? undefined : count.bytes) };
  }
  let zstd: Tool;
  try {
    zstd = runTool("zstd", ["-c", "-vv", "--no-progress", "-1", "-T0"], source?.fd ?? 0, "pipe");
  } finally {
    // zstd holds its own copy of the descriptor.
    await source?.close();
  }
  const { child, exited } = zstd;
  exited.catch(() => undefined);
  // zstd's output ends when it exits, whether it succeeded or not: a store must see the end of
  // the stream only for a complete one, so the end waits for the exit status.
  const gate = new Transform({
    transform: (chunk: Buffer, _encoding, done) => done(null, chunk),
    flush: (done) => exited.then(() => done(), done),
  });
  child.stdout!.pipe(gate);
  child.stdout!.on("error", (error) => gate.destroy(error));
  // Nothing reads a failed stream any more: zstd must not wait for a reader forever.
  gate.on("close", () => {
    if (child.exitCode === null) child.kill();
  });
  return { output: gate, sourceBytes: () => exited.then(readBytes) };
}

/**
 * Settles once every one of them has (no tool is still running then), failing with what each
 * that failed said: one tool's failure ends the others (a closed pipe), and which of them says
 * why is not known in advance. Marked handled: a caller may look at it only after something else.
 */
function allEnded(ends: (Promise<unknown> | undefined)[]): Promise<void> {
  const all = Promise.allSettled(ends).then((results) => {
    const failed = results.flatMap((result) =>
      result.status === "rejected" ? [result.reason as Error] : [],
    );
    if (failed.length === 1) throw failed[0];
    if (failed.length > 1) throw new Error(failed.map((error) => error.message).join("; "));
  });
  all.catch(() => undefined);
  return all;
}

/** Encrypts with a random IV written first. */
export function encrypt(encryptionKey: string, compression: Compression): Transform {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-ctr", keyFrom(encryptionKey), iv);
  cipher.push(iv);
  if (compression === "none") cipher.push(cipher.update(PLAIN_MARKER));
  return cipher;
}

/** Fails at the end of the stream when the bytes read do not hash to the expected value. */
class Verify extends Transform {
  private readonly hash = createHash("sha256");
  /** Set once the stream ended with bytes that hash to another value. */
  mismatch?: Error;
  /** Set once every byte went through the hash. */
  ended = false;

  constructor(private readonly expected: string | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.ended = true;
    const actual = this.hash.digest("hex");
    if (this.expected && actual !== this.expected) {
      this.mismatch = checksumMismatch(actual, this.expected);
      done(this.mismatch);
    } else {
      done();
    }
  }
}

function checksumMismatch(actual: string, expected: string): Error {
  return new Error(`checksum mismatch: the stored data hashes to ${actual}, the backup recorded ${expected}`);
}

/**
 * Splits off the IV header and deciphers the rest. CTR mode deciphers with any key: what the data
 * must start with tells a wrong key, before anything is written.
 */
class Decrypt extends Transform {
  private header = Buffer.alloc(0);
  private decipher: ReturnType<typeof createDecipheriv> | undefined;

  constructor(
    private readonly key: Buffer,
    private readonly compression: Compression,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.decipher) {
      const leading = LEADING[this.compression];
      this.header = Buffer.concat([this.header, chunk]);
      if (this.header.length < IV_BYTES + leading.length) return done();
      this.decipher = createDecipheriv("aes-256-ctr", this.key, this.header.subarray(0, IV_BYTES));
      const first = this.decipher.update(this.header.subarray(IV_BYTES));
      if (!first.subarray(0, leading.length).equals(leading)) return done(wrongKey());
      return done(null, leading === PLAIN_MARKER ? first.subarray(leading.length) : first);
    }
    done(null, this.decipher.update(chunk));
  }

  override _flush(done: TransformCallback): void {
    if (!this.decipher) return done(this.header.length ? wrongKey() : null);
    done(null, this.decipher.final());
  }
}

function wrongKey(): Error {
  return new Error(
    "the encryption key does not decrypt the stored data: it was stored with another key, or unencrypted",
  );
}

export interface Decoding {
  /**
   * The streams the stored bytes go through, the last one writing the original to the output;
   * none when the tools read a local file themselves.
   */
  streams: Writable[];
  /** Settles once the output is all written. */
  written: Promise<void>;
  /**
   * Why the checksum failed, if it did. The streams and tools after it are then torn down, and
   * whichever of them complains first (a pipe closed early) would otherwise hide the reason.
   */
  mismatch: () => Error | undefined;
  /** Whether every stored byte went through the checksum (always, when the tools read a local file). */
  checked: () => boolean;
}

/** What stored bytes go through first: the checksum, then the cipher. */
function storedChecks(
  compression: Compression,
  expectedSha256?: string,
  encryptionKey?: string,
): Pick<Decoding, "streams" | "mismatch" | "checked"> {
  const verify = new Verify(expectedSha256);
  return {
    streams: [verify, ...(encryptionKey ? [new Decrypt(keyFrom(encryptionKey), compression)] : [])],
    mismatch: () => verify.mismatch,
    checked: () => verify.ended,
  };
}

/**
 * A stored file that zstd reads through its own copy of the descriptor, while this process
 * hashes it at explicit offsets (which leave the shared file position alone): the bytes pass
 * through this process once, for the checksum only, instead of also being copied on to zstd.
 */
export interface LocalStored {
  file: FileHandle;
  expectedSha256?: string;
}

/**
 * Reads a stored file to the end through the checksum, on the side of the tool that decodes it,
 * through one buffer: a stream's fresh buffer for every chunk cost the kernel a page fault per
 * page, which doubled the CPU time of the checksum.
 */
function verifiedFile(stored: LocalStored): Pick<Decoding, "mismatch"> & { verified: Promise<void> } {
  const expected = stored.expectedSha256;
  if (!expected) return { verified: Promise.resolve(), mismatch: () => undefined };
  let mismatch: Error | undefined;
  const verified = (async () => {
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let position = 0; ;) {
      const { bytesRead } = await stored.file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    const actual = hash.digest("hex");
    if (actual !== expected) throw (mismatch = checksumMismatch(actual, expected));
  })();
  return { verified, mismatch: () => mismatch };
}

/**
 * The decoding of a local stored file (zstd, unencrypted): zstd reads it, its output goes to
 * `output`, and the checksum is checked next to it. Both must succeed.
 */
function decodingOfFile(stored: LocalStored, zstd: Tool): Decoding {
  const { verified, mismatch } = verifiedFile(stored);
  // The checksum's verdict first: a changed byte can also make zstd fail, which says less.
  const written = allEnded([verified, zstd.exited]);
  // A checksum that differs stops the decoding: its output is discarded anyway.
  verified.catch(() => zstd.child.kill());
  return { streams: [], written, mismatch, checked: () => true };
}

/**
 * What turns stored bytes back into the original stream, written to the output (standard output
 * when none; the handle is closed here): the checksum verified, deciphered, then zstd writes
 * straight to the output, without the bytes passing through this process. With `local`, zstd
 * reads the stored file itself.
 */
export async function decode(
  output: FileHandle | undefined,
  compression: Compression,
  expectedSha256: string | undefined,
  encryptionKey?: string,
  local?: LocalStored,
): Promise<Decoding> {
  if (local) {
    try {
      return decodingOfFile(local, runTool("zstd", ["-c", "-q", "-d"], local.file.fd, output?.fd ?? 1));
    } finally {
      await output?.close();
    }
  }
  const checks = storedChecks(compression, expectedSha256, encryptionKey);
  if (compression === "none") {
    const sink = output ? output.createWriteStream({ highWaterMark: CHUNK_BYTES }) : process.stdout;
    const written = finished(sink);
    written.catch(() => undefined);
    return { ...checks, streams: [...checks.streams, sink], written };
  }
  let zstd: Tool;
  try {
    zstd = runTool("zstd", ["-c", "-q", "-d"], "pipe", output?.fd ?? 1);
  } finally {
    await output?.close();
  }
  const written = zstd.exited.then(() => undefined);
  written.catch(() => undefined);
  return { ...checks, streams: [...checks.streams, zstd.child.stdin!], written };
}

/**
 * Like decode, for a stream that is one tar archive: tar (with zstd for a compressed one) unpacks
 * it into the directory as it arrives, so the original is never written out whole. The checksum
 * is known only at the end: a caller must discard what was unpacked when the streams fail.
 * With `owner`, tar runs as that user, so what it unpacks is theirs already (`dir` must be).
 */
export function decodeIntoDirectory(
  dir: string,
  compression: Compression,
  expectedSha256: string | undefined,
  encryptionKey?: string,
  local?: LocalStored,
  owner?: Owner,
): Decoding {
  // zstd in front of tar rather than tar's own --zstd, which reads it in small records: over twice as slow.
  const zstd =
    compression === "zstd"
      ? runTool("zstd", ["-c", "-q", "-d"], local?.file.fd ?? "pipe", "pipe")
      : undefined;
  const tar = runTool(
    "tar",
    ["-x", "--no-same-owner", "-f", "-", "-C", dir],
    zstd?.child.stdout ?? "pipe",
    "ignore",
    owner,
  );
  // tar has its own copy of zstd's output: this one would only compete for the bytes.
  zstd?.child.stdout!.destroy();
  if (local && zstd) {
    const decoding = decodingOfFile(local, zstd);
    return { ...decoding, written: allEnded([decoding.written, tar.exited]) };
  }
  const written = allEnded([zstd?.exited, tar.exited]);
  const checks = storedChecks(compression, expectedSha256, encryptionKey);
  return { ...checks, streams: [...checks.streams, (zstd ?? tar).child.stdin!], written };
}
