import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { createGunzip, createGzip, constants } from "node:zlib";

/**
 * How backups are stored: gzip (fast level: the network or the disk, not the CPU, should bound a
 * backup), then optionally AES-256-CTR with a random IV written first. The SHA-256 covers the
 * stored bytes, so a restore detects any change before the data is used.
 */
const IV_BYTES = 16;

function keyFrom(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

/** Counts and hashes what passes through. */
export class Tally extends Transform {
  readonly hash = createHash("sha256");
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

/** The transforms that turn a stream into what is stored, in order. */
export function encoders(encryptionKey?: string): Transform[] {
  const gzip = createGzip({ level: constants.Z_BEST_SPEED });
  if (!encryptionKey) return [gzip];
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-ctr", keyFrom(encryptionKey), iv);
  cipher.push(iv);
  return [gzip, cipher];
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

/** Splits off the IV header and deciphers the rest. */
class Decrypt extends Transform {
  private header = Buffer.alloc(0);
  private decipher: ReturnType<typeof createDecipheriv> | undefined;

  constructor(private readonly key: Buffer) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.decipher) {
      this.header = Buffer.concat([this.header, chunk]);
      if (this.header.length < IV_BYTES) return done();
      this.decipher = createDecipheriv("aes-256-ctr", this.key, this.header.subarray(0, IV_BYTES));
      chunk = this.header.subarray(IV_BYTES);
    }
    done(null, this.decipher.update(chunk));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.decipher?.final());
  }
}

/** The transforms that turn stored bytes back into the original stream, in order. */
export function decoders(expectedSha256: string | undefined, encryptionKey?: string): Transform[] {
  return [
    new Verify(expectedSha256),
    ...(encryptionKey ? [new Decrypt(keyFrom(encryptionKey))] : []),
    createGunzip(),
  ];
}
