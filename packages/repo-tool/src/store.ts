import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import type { Readable } from "node:stream";
import type { S3Client } from "@aws-sdk/client-s3";
import { joinKey, type RepoConfig } from "./config.js";

export interface StoredObject {
  /** Key relative to the repository's base. */
  key: string;
  size: number;
  /** When the object was written. */
  modified: Date;
}

/** The few operations backups need, on a directory or a bucket; keys are relative to the base. */
export interface ObjectStore {
  /** Writes the stream under key; the object appears only once it is complete. */
  put(key: string, body: Readable): Promise<void>;
  get(key: string): Promise<Readable>;
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes every object under prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** The file holding key, on a store of local files, for tools to read directly. */
  localPath?(key: string): string;
  /**
   * On a store of local files, hands `write` the open file that becomes key once `write` is done
   * (as put does with a stream); returns what `write` returned.
   */
  writeLocal?<T>(key: string, write: (file: FileHandle) => Promise<T> | T): Promise<T>;
}

export function openStore(config: RepoConfig): ObjectStore {
  return config.kind === "filesystem"
    ? new DirectoryStore(join(config.root, config.base))
    : new BucketStore(config);
}

class DirectoryStore implements ObjectStore {
  constructor(private readonly root: string) {}

  async put(key: string, body: Readable): Promise<void> {
    await this.writeLocal(key, async (file) => {
      // writeFile, not write: it writes the whole chunk, however many writes that takes.
      for await (const chunk of body) await file.writeFile(chunk as Buffer);
    });
  }

  async writeLocal<T>(key: string, write: (file: FileHandle) => Promise<T> | T): Promise<T> {
    const path = join(this.root, key);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.partial`;
    try {
      const file = await open(partial, "w");
      let written: T;
      try {
        written = await write(file);
        // The object is complete only once it is on disk: a crash must not leave a short one.
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(partial, path);
      return written;
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  localPath(key: string): string {
    return join(this.root, key);
  }

  async get(key: string): Promise<Readable> {
    const path = join(this.root, key);
    await stat(path);
    // Large reads: fewer, larger chunks for the checksum and the pipe to zstd.
    return createReadStream(path, { highWaterMark: 1 << 20 });
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const dir = join(this.root, prefix);
    const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return [];
        throw error;
      },
    );
    const objects: StoredObject[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.endsWith(".partial")) continue;
      const path = join(entry.parentPath, entry.name);
      const info = await stat(path);
      objects.push({ key: relative(this.root, path), size: info.size, modified: info.mtime });
    }
    return objects;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const path = join(this.root, prefix);
    const info = await stat(path).catch(() => undefined);
    const count = info?.isFile() ? 1 : (await this.list(prefix)).length;
    await rm(path, { recursive: true, force: true });
    return count;
  }
}

/** Parts of a multipart upload: large enough for throughput, small enough to bound memory. */
const PART_SIZE = 16 * 1024 * 1024;

/**
 * The S3 client library, loaded by the first bucket operation: it takes longer to load than a
 * directory backup of a small database takes to run.
 */
const s3 = () => import("@aws-sdk/client-s3");

class BucketStore implements ObjectStore {
  private clientLoaded: Promise<S3Client> | undefined;

  constructor(private readonly config: Extract<RepoConfig, { kind: "s3" }>) {}

  private client(): Promise<S3Client> {
    const config = this.config;
    this.clientLoaded ??= s3().then(
      ({ S3Client }) =>
        new S3Client({
          endpoint: config.endpoint,
          region: config.region,
          forcePathStyle: config.forcePathStyle,
          credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
          // Many S3-compatible servers predate the flexible checksums the SDK sends by default.
          requestChecksumCalculation: "WHEN_REQUIRED",
          responseChecksumValidation: "WHEN_REQUIRED",
        }),
    );
    return this.clientLoaded;
  }

  private fullKey(key: string): string {
    return joinKey(this.config.prefix, this.config.base, key);
  }

  async put(key: string, body: Readable): Promise<void> {
    const { Upload } = await import("@aws-sdk/lib-storage");
    const upload = new Upload({
      client: await this.client(),
      params: { Bucket: this.config.bucket, Key: this.fullKey(key), Body: body },
      partSize: PART_SIZE,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await upload.done();
  }

  async get(key: string): Promise<Readable> {
    const { GetObjectCommand } = await s3();
    const result = await (
      await this.client()
    ).send(new GetObjectCommand({ Bucket: this.config.bucket, Key: this.fullKey(key) }));
    return result.Body as Readable;
  }

  /** Objects under prefix/ (and, asked so, the object named prefix itself). */
  async list(prefix: string, withPrefixObject = false): Promise<StoredObject[]> {
    const { ListObjectsV2Command } = await s3();
    const client = await this.client();
    const base = this.fullKey("");
    const objects: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: this.config.bucket,
          Prefix: withPrefixObject ? this.fullKey(prefix) : `${this.fullKey(prefix)}/`,
          ContinuationToken: token,
        }),
      );
      for (const item of page.Contents ?? []) {
        const inside = item.Key === this.fullKey(prefix) || item.Key!.startsWith(`${this.fullKey(prefix)}/`);
        if (!inside) continue;
        objects.push({
          key: base ? item.Key!.slice(base.length + 1) : item.Key!,
          size: item.Size ?? 0,
          modified: item.LastModified ?? new Date(0),
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return objects;
  }

  async deletePrefix(prefix: string): Promise<number> {
    // One request per object: multi-object delete needs a checksum header not every server accepts.
    const { DeleteObjectCommand } = await s3();
    const client = await this.client();
    const objects = await this.list(prefix, true);
    for (const object of objects) {
      await client.send(
        new DeleteObjectCommand({ Bucket: this.config.bucket, Key: this.fullKey(object.key) }),
      );
    }
    return objects.length;
  }
}
