import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { ManagedProcess, freePort, isListening, runCommand } from "@tessera/base";

export interface S3ServerOptions {
  /** Parent of the server's data directory (a fresh temporary directory under it); default the OS's. */
  parentDir?: string;
  /** Region the S3 API reports and expects in signatures. */
  region?: string;
  /** Deadline for every server to answer (Python servers start slowly on a busy machine). */
  startTimeoutMs?: number;
}

/** Static credentials of one S3 user. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

type StorageServer = "account" | "container" | "object";
const STORAGE_SERVERS: StorageServer[] = ["account", "container", "object"];
const DEVICE = "d1";

/**
 * A real S3-compatible server: OpenStack Swift (Debian's swift-proxy, -account, -container,
 * -object) with the s3api and tempauth middlewares, on loopback ports the kernel picks, its rings
 * (one replica, one device) and data in a fresh directory. Each server runs as a single process
 * (`workers = 0`) through ManagedProcess, so `stop()` (or the death of the Node process) ends them
 * all; the directory goes with `stop()`.
 *
 * Two users: `credentials` may do anything in its account (create buckets, write, read, delete);
 * `readOnlyCredentials` belongs to the same account without the admin group, so Swift refuses it
 * every bucket: what a user sees with a key that lacks permission.
 */
export class S3Server {
  private constructor(
    readonly dir: string,
    readonly endpoint: string,
    readonly region: string,
    readonly credentials: S3Credentials,
    readonly readOnlyCredentials: S3Credentials,
    private readonly processes: ManagedProcess[],
  ) {}

  static async start(options: S3ServerOptions = {}): Promise<S3Server> {
    const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), "s3-server-"));
    const region = options.region ?? "us-east-1";
    const credentials = { accessKeyId: "tessera:admin", secretAccessKey: randomKey() };
    const readOnlyCredentials = { accessKeyId: "tessera:reader", secretAccessKey: randomKey() };
    const processes: ManagedProcess[] = [];
    try {
      const ports = {
        proxy: await freePort(),
        account: await freePort(),
        container: await freePort(),
        object: await freePort(),
        memcache: await freePort(),
      };
      mkdirSync(join(dir, "devices", DEVICE), { recursive: true });
      await Promise.all(STORAGE_SERVERS.map((server) => buildRing(dir, server, ports[server])));
      for (const server of STORAGE_SERVERS) {
        writeFileSync(join(dir, `${server}-server.conf`), storageConfig(dir, server, ports[server]));
      }
      writeFileSync(
        join(dir, "proxy-server.conf"),
        proxyConfig(dir, ports, region, credentials, readOnlyCredentials),
      );
      for (const server of [...STORAGE_SERVERS, "proxy"]) {
        processes.push(
          ManagedProcess.start({
            name: `swift-${server}-server`,
            command: `swift-${server}-server`,
            args: [join(dir, `${server}-server.conf`), "--verbose"],
            logFile: join(dir, `${server}.log`),
            // Python buffers output to a file; unbuffered, the log is whole when a start fails.
            env: { ...process.env, PYTHONUNBUFFERED: "1" },
          }),
        );
      }
      const endpoint = `http://127.0.0.1:${ports.proxy}`;
      const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
      await waitHealthy(endpoint, processes, deadline);
      // The proxy's health check does not reach the storage servers; they listen once loaded.
      for (const server of STORAGE_SERVERS) await waitListening(ports[server], processes, deadline);
      return new S3Server(dir, endpoint, region, credentials, readOnlyCredentials, processes);
    } catch (error) {
      await Promise.all(processes.map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** An S3 client for this server, as the full-access user unless told otherwise. */
  client(credentials: S3Credentials = this.credentials): S3Client {
    return new S3Client({
      endpoint: this.endpoint,
      region: this.region,
      credentials,
      forcePathStyle: true,
      // Swift's S3 API predates the SDK's default flexible checksums (aws-chunked uploads with a
      // trailer); send and check them only where an operation requires one.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  /**
   * Creates a bucket. A busy machine can make Swift answer 503 while its account server catches
   * up (the first request creates the account): that is retried for up to 30 s.
   */
  async createBucket(name: string): Promise<void> {
    const client = this.client();
    const deadline = Date.now() + 30_000;
    try {
      for (;;) {
        try {
          await client.send(new CreateBucketCommand({ Bucket: name }));
          return;
        } catch (error) {
          const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status !== 503 || Date.now() > deadline) throw error;
          await delay(500);
        }
      }
    } finally {
      client.destroy();
    }
  }

  /** Every key in a bucket, for tests that check what was written or deleted. */
  async listObjects(bucket: string): Promise<string[]> {
    const client = this.client();
    const keys: string[] = [];
    try {
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
        );
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } finally {
      client.destroy();
    }
    return keys;
  }

  /** Stops every server (SIGTERM, then SIGKILL) and removes the data directory. */
  async stop(): Promise<void> {
    try {
      await Promise.all(this.processes.map((p) => p.stop()));
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

function randomKey(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

async function buildRing(dir: string, server: StorageServer, port: number): Promise<void> {
  const builder = join(dir, `${server}.builder`);
  // part_power 0, one replica, min_part_hours 1: a single partition on a single device.
  const steps = [["create", "0", "1", "1"], ["add", `r1z1-127.0.0.1:${port}/${DEVICE}`, "1"], ["rebalance"]];
  for (const step of steps) {
    const result = await runCommand("swift-ring-builder", [builder, ...step], { cwd: dir });
    // rebalance exits 1 for a warning about balance; the ring file is what matters.
    if (result.code > 1) {
      throw new Error(`swift-ring-builder ${step[0]} for ${server}: ${result.stdout}${result.stderr}`);
    }
  }
}

function commonConfig(dir: string, port: number): string {
  return [
    "[DEFAULT]",
    "bind_ip = 127.0.0.1",
    `bind_port = ${port}`,
    // One process per server: nothing forks workers that could outlive a stop.
    "workers = 0",
    `user = ${userInfo().username}`,
    `swift_dir = ${dir}`,
    `devices = ${join(dir, "devices")}`,
    // The device is a plain directory, not a mount point.
    "mount_check = false",
    // No syslog: --verbose sends the log to the process's output, which goes to its log file.
    "log_address = /dev/null",
    "",
  ].join("\n");
}

function storageConfig(dir: string, server: StorageServer, port: number): string {
  return `${commonConfig(dir, port)}
[pipeline:main]
pipeline = ${server}-server

[app:${server}-server]
use = egg:swift#${server}
`;
}

function proxyConfig(
  dir: string,
  ports: { proxy: number; memcache: number },
  region: string,
  admin: S3Credentials,
  reader: S3Credentials,
): string {
  const user = (credentials: S3Credentials) => `user_${credentials.accessKeyId.replace(":", "_")}`;
  return `${commonConfig(dir, ports.proxy)}
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

# s3api refuses requests without a cache in the request environment; nothing listens at
# memcache_servers (a free port), so every lookup misses and Swift asks its storage servers.
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:${ports.memcache}

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

# Multipart uploads (large objects) are stored as static large objects.
[filter:slo]
use = egg:swift#slo

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes

[filter:s3api]
use = egg:swift#s3api
location = ${region}

[filter:tempauth]
use = egg:swift#tempauth
${user(admin)} = ${admin.secretAccessKey} .admin
${user(reader)} = ${reader.secretAccessKey}
`;
}

function failIfExited(processes: ManagedProcess[]): void {
  const exited = processes.find((p) => !p.running);
  if (exited) throw exited.exitError();
}

async function waitListening(port: number, processes: ManagedProcess[], deadline: number): Promise<void> {
  while (!(await isListening("127.0.0.1", port, 1000))) {
    failIfExited(processes);
    if (Date.now() > deadline) throw new Error(`swift storage server on port ${port} not listening in time`);
    await delay(200);
  }
}

async function waitHealthy(endpoint: string, processes: ManagedProcess[], deadline: number): Promise<void> {
  let last = "no answer";
  while (Date.now() < deadline) {
    failIfExited(processes);
    try {
      const response = await fetch(`${endpoint}/healthcheck`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await delay(200);
  }
  throw new Error(`swift-proxy-server at ${endpoint} not healthy in time: ${last}`);
}
