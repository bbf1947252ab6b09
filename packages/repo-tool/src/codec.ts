import { spawn } from "node:child_process";
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { Duplex, Transform, type TransformCallback } from "node:stream";

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

/** The zstd command as a stream; its failure (exit status, stderr) fails the stream. */
function zstd(args: string[]): Duplex {
  const child = spawn("zstd", ["-q", "-c", ...args], { stdio: ["pipe", "pipe", "pipe"] });
  const stderr: Buffer[] = [];
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  const stream = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.on("error", (error) => stream.destroy(error));
  child.on("close", (code) => {
    if (code !== 0) {
      stream.destroy(
        new Error(`zstd failed (exit status ${code}): ${Buffer.concat(stderr).toString().trim()}`),
      );
    }
  });
  return stream;
}

/** The transforms that turn a stream into what is stored, in order. */
export function encoders(encryptionKey?: string): Duplex[] {
  const compress = zstd(["-1", "-T0"]);
  if (!encryptionKey) return [compress];
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-ctr", keyFrom(encryptionKey), iv);
  cipher.push(iv);
  return [compress, cipher];
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

/** The transforms that turn stored bytes back into the original stream, in order. */
export function decoders(expectedSha256: string | undefined, encryptionKey?: string): Duplex[] {
  return [
    new Verify(expectedSha256),
    ...(encryptionKey ? [new Decrypt(keyFrom(encryptionKey))] : []),
    zstd(["-d"]),
  ];
}
