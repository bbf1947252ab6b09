import { spawn, type ChildProcess } from "node:child_process";
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { Transform, type Duplex, type Readable, type TransformCallback, type Writable } from "node:stream";

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

/** A zstd process; `exited` settles with its exit status, rejecting with its stderr when it failed. */
interface Zstd {
  child: ChildProcess;
  /** What zstd wrote to stderr (with -vv, a summary of the sizes it read and wrote). */
  exited: Promise<string>;
}

/**
 * Runs zstd with the given standard input and output: an open file descriptor hands the data
 * straight to zstd (the bytes never pass through this process), "pipe" gives a stream here.
 */
function zstd(args: string[], input: number | "pipe", output: number | "pipe"): Zstd {
  const child = spawn("zstd", ["-c", ...args], { stdio: [input, output, "pipe"] });
  const stderr: Buffer[] = [];
  child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk));
  const exited = new Promise<string>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const text = Buffer.concat(stderr).toString().trim();
      if (code === 0) resolve(text);
      else reject(new Error(`zstd failed (exit status ${code}): ${text.slice(-1000)}`));
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

export interface Compressed {
  /** The compressed stream; it ends only once zstd exited successfully, else it fails. */
  output: Readable;
  /** How many bytes zstd read, once it is done. */
  sourceBytes: Promise<number | undefined>;
}

/**
 * Compresses what the file descriptor yields. zstd reads the source itself: only the compressed
 * bytes, about half as many, pass through this process.
 */
export function compress(input: number): Compressed {
  const { child, exited } = zstd(["-vv", "--no-progress", "-1", "-T0"], input, "pipe");
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
  return { output: gate, sourceBytes: exited.then(readBytes) };
}

/** Encrypts with a random IV written first. */
export function encrypt(encryptionKey: string): Transform {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-ctr", keyFrom(encryptionKey), iv);
  cipher.push(iv);
  return cipher;
}

/** Fails at the end of the stream when the bytes read do not hash to the expected value. */
class Verify extends Transform {
  private readonly hash = createHash("sha256");

  constructor(private readonly expected: string | undefined) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const actual = this.hash.digest("hex");
    if (this.expected && actual !== this.expected) {
      done(
        new Error(
          `checksum mismatch: the stored data hashes to ${actual}, the backup recorded ${this.expected}`,
        ),
      );
    } else {
      done();
    }
  }
}

/** What every stored stream starts with once deciphered: a zstd frame. */
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * Splits off the IV header and deciphers the rest. CTR mode deciphers with any key: the zstd frame
 * the data must start with tells a wrong key, before anything is written.
 */
class Decrypt extends Transform {
  private header = Buffer.alloc(0);
  private decipher: ReturnType<typeof createDecipheriv> | undefined;

  constructor(private readonly key: Buffer) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.decipher) {
      this.header = Buffer.concat([this.header, chunk]);
      if (this.header.length < IV_BYTES + ZSTD_MAGIC.length) return done();
      this.decipher = createDecipheriv("aes-256-ctr", this.key, this.header.subarray(0, IV_BYTES));
      const first = this.decipher.update(this.header.subarray(IV_BYTES));
      if (!first.subarray(0, ZSTD_MAGIC.length).equals(ZSTD_MAGIC)) return done(wrongKey());
      return done(null, first);
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
  input: Duplex[];
  sink: Writable;
  exited: Promise<string>;
}

/**
 * What turns stored bytes back into the original stream: `input` takes them (checksum verified,
 * deciphered) and zstd writes the original straight to the output file descriptor; `exited`
 * settles once it is all written.
 */
export function decoders(
  output: number,
  expectedSha256: string | undefined,
  encryptionKey?: string,
): Decoding {
  const { child, exited } = zstd(["-q", "-d"], "pipe", output);
  return {
    input: [new Verify(expectedSha256), ...(encryptionKey ? [new Decrypt(keyFrom(encryptionKey))] : [])],
    sink: child.stdin!,
    exited,
  };
}
