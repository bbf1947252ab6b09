import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { runCommand } from "@tessera/base";
import { S3Server } from "@tessera/object-store";
import { testRoot } from "@tessera/testing";
import { Archiver, STOPPED_MARKER } from "../../src/archive.js";
import { logsToFetch } from "../../src/restore.js";
import { openStore } from "../../src/store.js";

// tessera-repo against real storage: a directory and a bucket of a real S3-compatible server.

const BIN = fileURLToPath(new URL("../../bin/tessera-repo", import.meta.url));
let s3: S3Server;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(testRoot(), "repo-tool-"));
  s3 = await S3Server.start({ parentDir: testRoot() });
  await s3.createBucket("backups");
});

after(async () => {
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function filesystemEnv(root: string): NodeJS.ProcessEnv {
  return { ...process.env, TESSERA_REPO_KIND: "filesystem", TESSERA_REPO_PATH: root };
}

function s3Env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TESSERA_REPO_KIND: "s3",
    TESSERA_REPO_S3_ENDPOINT: s3.endpoint,
    TESSERA_REPO_S3_BUCKET: "backups",
    TESSERA_REPO_S3_PREFIX: "team-a",
    TESSERA_REPO_S3_REGION: s3.region,
    TESSERA_REPO_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    TESSERA_REPO_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  };
}

/** Waits (10 s at most) until the directory exists and has an entry. */
async function entriesIn(path: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(existsSync(path) && readdirSync(path).length) && Date.now() < deadline) await delay(20);
}

async function repo(env: NodeJS.ProcessEnv, args: string[]) {
  return runCommand(BIN, args, { env, timeoutMs: 60_000 });
}

/** Stores the file at `input` under key; the outcome is also written to `<work>/termination`. */
async function putFile(env: NodeJS.ProcessEnv, key: string, input: string, work: string, options: string[]) {
  return repo(env, [
    "put",
    key,
    "--input",
    input,
    ...options,
    "--termination-log",
    join(work, "termination"),
  ]);
}

/** What a put wrote to `<work>/termination`. */
function putSummary(work: string): { size: number; sourceSize?: number; sha256: string } {
  return JSON.parse(readFileSync(join(work, "termination"), "utf8")) as {
    size: number;
    sourceSize?: number;
    sha256: string;
  };
}

/** A small data directory (`<work>/source`) archived as `<work>/data.tar`; returns its files. */
async function dataDirectoryTar(work: string): Promise<Record<string, Buffer>> {
  const source = join(work, "source");
  mkdirSync(join(source, "base"), { recursive: true });
  const files = { PG_VERSION: Buffer.from("15\n"), "base/1": randomBytes(3 << 20) };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(source, name), content);
  const archived = await runCommand("tar", ["-c", "-f", join(work, "data.tar"), "-C", source, "."]);
  assert.equal(archived.code, 0, archived.stderr);
  return files;
}

for (const [kind, envOf] of [
  ["a directory", () => filesystemEnv(join(dir, "fs"))],
  ["an S3 bucket", s3Env],
] as const) {
  test(`${kind}: put streams data in compressed and encrypted, get returns it verified, delete removes it`, async () => {
    const env = { ...envOf(), TESSERA_REPO_ENCRYPTION_KEY: "k3y" };
    const work = mkdtempSync(join(testRoot(), "work-"));
    // Half random, half repetitive: compression shows on the second half.
    const data = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(4 << 20, "a")]);
    writeFileSync(join(work, "data"), data);
    writeFileSync(join(work, "meta"), "startPosition=0/3000028\nengineVersion=15.18\n");
    writeFileSync(join(work, "status"), "0\n");
    const put = await repo(env, [
      "put",
      "ns/db/uid/backups/b1/db",
      "--input",
      join(work, "data"),
      "--meta",
      join(work, "meta"),
      "--writer-status",
      join(work, "status"),
      "--termination-log",
      join(work, "termination"),
    ]);
    assert.equal(put.code, 0, put.stderr);
    const summary = JSON.parse(readFileSync(join(work, "termination"), "utf8")) as {
      size: number;
      sourceSize: number;
      sha256: string;
      meta: Record<string, string>;
    };
    assert.equal(summary.sourceSize, data.length);
    assert.ok(summary.size < data.length / 2, `compressed: ${summary.size} of ${data.length} bytes`);
    assert.deepEqual(summary.meta, { startPosition: "0/3000028", engineVersion: "15.18" });

    const got = await repo(env, [
      "get",
      "ns/db/uid/backups/b1/db",
      "--sha256",
      summary.sha256,
      "--output",
      join(work, "back"),
    ]);
    assert.equal(got.code, 0, got.stderr);
    assert.ok(readFileSync(join(work, "back")).equals(data), "the data comes back identical");

    const wrongKey = await repo({ ...env, TESSERA_REPO_ENCRYPTION_KEY: "other" }, [
      "get",
      "ns/db/uid/backups/b1/db",
      "--output",
      join(work, "x"),
    ]);
    assert.notEqual(wrongKey.code, 0, "another key cannot read it");
    assert.match(wrongKey.stderr, /the encryption key does not decrypt the stored data/);
    const tampered = await repo(env, [
      "get",
      "ns/db/uid/backups/b1/db",
      "--sha256",
      "0".repeat(64),
      "--output",
      join(work, "x"),
    ]);
    assert.notEqual(tampered.code, 0);
    assert.match(tampered.stderr, /checksum mismatch/);

    const deleted = await repo(env, [
      "delete",
      "ns/db/uid/backups/b1",
      "--termination-log",
      join(work, "deleted"),
    ]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.deepEqual(JSON.parse(readFileSync(join(work, "deleted"), "utf8")), { deleted: 1 });
    const listed = await repo(env, ["list", "ns/db/uid"]);
    assert.equal(listed.stdout.trim(), "");
  });

  test(`${kind}: fetch --unpack tar unpacks an archive as it downloads; a checksum mismatch leaves nothing`, async () => {
    const env = { ...envOf(), TESSERA_REPO_ENCRYPTION_KEY: "k3y" };
    const work = mkdtempSync(join(testRoot(), "work-"));
    const files = await dataDirectoryTar(work);
    const key = "ns/db/uid/backups/b4/db";
    for (const compression of ["zstd", "none"]) {
      const put = await repo(env, [
        "put",
        key,
        "--input",
        join(work, "data.tar"),
        "--compression",
        compression,
        "--termination-log",
        join(work, "termination"),
      ]);
      assert.equal(put.code, 0, put.stderr);
      const { sha256 } = JSON.parse(readFileSync(join(work, "termination"), "utf8")) as { sha256: string };
      const out = join(work, `out-${compression}`);
      const fetch = (checksum: string) =>
        repo(env, [
          "fetch",
          "--backup",
          key,
          "--out",
          out,
          "--unpack",
          "tar",
          "--compression",
          compression,
          "--sha256",
          checksum,
        ]);
      const fetched = await fetch(sha256);
      assert.equal(fetched.code, 0, fetched.stderr);
      for (const [name, content] of Object.entries(files)) {
        assert.ok(
          readFileSync(join(out, "backup", name)).equals(content),
          `${compression}: ${name} unpacked identical`,
        );
      }
      const tampered = await fetch("0".repeat(64));
      assert.notEqual(tampered.code, 0);
      assert.match(tampered.stderr, /checksum mismatch/);
      assert.ok(!existsSync(out), `${compression}: nothing is left of a fetch that failed`);
    }
    assert.equal((await repo(env, ["delete", key])).code, 0);
    rmSync(work, { recursive: true, force: true });
  });

  test(`${kind}: a writer that failed leaves nothing stored and fails the put`, async () => {
    const work = mkdtempSync(join(testRoot(), "work-"));
    writeFileSync(join(work, "data"), "partial");
    writeFileSync(join(work, "status"), "2\n");
    const put = await repo(envOf(), [
      "put",
      "ns/db/uid/backups/b2/db",
      "--input",
      join(work, "data"),
      "--writer-status",
      join(work, "status"),
      "--termination-log",
      join(work, "t"),
    ]);
    assert.notEqual(put.code, 0);
    assert.match(readFileSync(join(work, "t"), "utf8"), /exit status 2/);
    assert.equal((await repo(envOf(), ["list", "ns/db/uid/backups/b2"])).stdout.trim(), "");
  });
}

test("a directory: put stores data uncompressed when asked, encrypted; get returns it verified, another key is refused", async () => {
  const env = { ...filesystemEnv(join(dir, "fs")), TESSERA_REPO_ENCRYPTION_KEY: "k3y" };
  const work = mkdtempSync(join(testRoot(), "work-"));
  const data = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(1 << 20, "a")]);
  writeFileSync(join(work, "data"), data);
  const key = "ns/db/uid/backups/b3/db";
  const put = await putFile(env, key, join(work, "data"), work, ["--compression", "none"]);
  assert.equal(put.code, 0, put.stderr);
  const summary = putSummary(work);
  assert.equal(summary.sourceSize, data.length);
  assert.ok(summary.size > data.length, `stored as is, with the IV: ${summary.size} of ${data.length} bytes`);

  const got = await repo(env, [
    "get",
    key,
    "--compression",
    "none",
    "--sha256",
    summary.sha256,
    "--output",
    join(work, "back"),
  ]);
  assert.equal(got.code, 0, got.stderr);
  assert.ok(readFileSync(join(work, "back")).equals(data), "the data comes back identical");
  const wrongKey = await repo({ ...env, TESSERA_REPO_ENCRYPTION_KEY: "other" }, [
    "get",
    key,
    "--compression",
    "none",
    "--output",
    join(work, "x"),
  ]);
  assert.notEqual(wrongKey.code, 0, "another key cannot read it");
  assert.match(wrongKey.stderr, /the encryption key does not decrypt the stored data/);
  assert.equal((await repo(env, ["delete", key])).code, 0);
});

test("a directory: put stores a stream compressed already as it is, and refuses one that is not", async () => {
  const env = filesystemEnv(join(dir, "fs"));
  const work = mkdtempSync(join(testRoot(), "work-"));
  const data = Buffer.concat([randomBytes(1 << 20), Buffer.alloc(1 << 20, "b")]);
  writeFileSync(join(work, "data"), data);
  const zstd = await runCommand("zstd", ["-q", "-1", join(work, "data"), "-o", join(work, "data.zst")]);
  assert.equal(zstd.code, 0, zstd.stderr);
  const key = "ns/db/uid/backups/b4/db";
  const put = await putFile(env, key, join(work, "data.zst"), work, ["--compressed"]);
  assert.equal(put.code, 0, put.stderr);
  const summary = putSummary(work);
  assert.equal(summary.size, readFileSync(join(work, "data.zst")).length, "stored byte for byte");
  assert.equal(summary.sourceSize, undefined, "the size before compression is not known here");
  const got = await repo(env, ["get", key, "--sha256", summary.sha256, "--output", join(work, "back")]);
  assert.equal(got.code, 0, got.stderr);
  assert.ok(readFileSync(join(work, "back")).equals(data), "the data comes back identical");

  const plain = await putFile(env, "ns/db/uid/backups/b5/db", join(work, "data"), work, ["--compressed"]);
  assert.notEqual(plain.code, 0, "data that is not compressed is refused");
  assert.match(plain.stderr, /asked to compress its output but did not/);
  const listed = await repo(env, ["list", "ns/db/uid/backups/b5"]);
  assert.equal(listed.stdout.trim(), "", "nothing is left of it");
  assert.equal((await repo(env, ["delete", key])).code, 0);
  rmSync(work, { recursive: true, force: true });
});

test("a directory: zstd reads an unencrypted backup straight from its file, the checksum is still verified, and what is fetched belongs to --owner", async () => {
  const env = filesystemEnv(join(dir, "fs"));
  // The owner must reach the output: the test root is open to its own user only.
  const work = mkdtempSync(join(tmpdir(), "tessera-repo-owner-"));
  chmodSync(work, 0o755);
  try {
    const files = await dataDirectoryTar(work);
    const key = "ns/db/uid/backups/b6/db";
    const put = await putFile(env, key, join(work, "data.tar"), work, []);
    assert.equal(put.code, 0, put.stderr);
    const { sha256 } = putSummary(work);
    const out = join(work, "out");
    const owner = 65534;
    const fetch = () =>
      repo(env, [
        ...["fetch", "--backup", key, "--out", out, "--unpack", "tar", "--sha256", sha256],
        ...["--owner", `${owner}:${owner}`],
      ]);
    const get = () => repo(env, ["get", key, "--sha256", sha256, "--output", join(work, "back")]);

    const fetched = await fetch();
    assert.equal(fetched.code, 0, fetched.stderr);
    for (const [name, content] of Object.entries(files)) {
      assert.ok(readFileSync(join(out, "backup", name)).equals(content), `${name} unpacked identical`);
    }
    for (const path of ["", "logs", "backup", "backup/base", "backup/base/1", "backup/PG_VERSION"]) {
      const info = statSync(join(out, path));
      assert.deepEqual([info.uid, info.gid], [owner, owner], `${path || "the directory"} belongs to --owner`);
    }
    const got = await get();
    assert.equal(got.code, 0, got.stderr);
    assert.ok(readFileSync(join(work, "back")).equals(readFileSync(join(work, "data.tar"))), "got identical");

    // One byte changed at the very end, past what zstd needs to decode the frames before it.
    const stored = join(dir, "fs", key);
    const bytes = readFileSync(stored);
    const last = bytes.length - 1;
    bytes.writeUInt8(bytes.readUInt8(last) ^ 0xff, last);
    writeFileSync(stored, bytes);
    for (const [what, result] of [
      ["fetch", await fetch()],
      ["get", await get()],
    ] as const) {
      assert.notEqual(result.code, 0, `${what} of a changed file fails`);
      assert.match(result.stderr, /checksum mismatch/, what);
    }
    assert.ok(!existsSync(out), "nothing is left of the fetch that failed");
    assert.equal((await repo(env, ["delete", key])).code, 0);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("the archiver stores each file the engine hands over and answers done; an unreachable store answers failed", async () => {
  const shared = mkdtempSync(join(testRoot(), "archive-"));
  const store = openStore({ kind: "filesystem", root: join(dir, "archive"), base: "" });
  const archiver = new Archiver({ store, dir: shared, prefix: "logs", pollMs: 20 });
  const running = archiver.run();
  try {
    mkdirSync(join(shared, "outbox"), { recursive: true });
    writeFileSync(join(shared, "outbox", "000000010000000000000001"), "wal");
    await entriesIn(join(shared, "done"));
    assert.deepEqual(readdirSync(join(shared, "done")), ["000000010000000000000001"]);
    assert.equal(archiver.status.lastArchived, "000000010000000000000001");
    assert.deepEqual(readdirSync(join(shared, "outbox")), []);
  } finally {
    archiver.stop();
    await running;
  }
  const broken = new Archiver({
    store: openStore({
      kind: "filesystem",
      root: join(shared, "outbox", "000000010000000000000002"),
      base: "",
    }),
    dir: shared,
    prefix: "logs",
    pollMs: 20,
  });
  writeFileSync(join(shared, "outbox", "000000010000000000000002"), "wal");
  const failing = broken.run();
  try {
    await entriesIn(join(shared, "failed"));
    assert.deepEqual(readdirSync(join(shared, "failed")), ["000000010000000000000002"]);
    assert.equal(broken.status.failedCount, 1);
    assert.ok(broken.status.lastError);
  } finally {
    broken.stop();
    await failing;
  }
});

test("a stopping archiver still answers what the engine hands over, then leaves once idle with the marker that makes later hand-overs give up", async () => {
  const shared = mkdtempSync(join(testRoot(), "archive-drain-"));
  const store = openStore({ kind: "filesystem", root: join(dir, "archive-drain"), base: "" });
  const archiver = new Archiver({ store, dir: shared, prefix: "logs", pollMs: 20 });
  mkdirSync(join(shared, "outbox"), { recursive: true });
  writeFileSync(join(shared, STOPPED_MARKER), "left by an earlier run");
  const running = archiver.run();
  try {
    const deadline = Date.now() + 10_000;
    while (existsSync(join(shared, STOPPED_MARKER)) && Date.now() < deadline) await delay(20);
    assert.ok(!existsSync(join(shared, STOPPED_MARKER)), "a starting archiver removes an old marker");
    archiver.drain({ idleMs: 500, maxMs: 30_000 });
    writeFileSync(join(shared, "outbox", "000000010000000000000003"), "wal");
    await entriesIn(join(shared, "done"));
    assert.deepEqual(readdirSync(join(shared, "done")), ["000000010000000000000003"]);
  } finally {
    await running;
  }
  assert.equal(readFileSync(join(shared, STOPPED_MARKER), "utf8"), "the archiver has stopped\n");
  assert.deepEqual(readdirSync(join(shared, "outbox")), []);
});

test("a recovery to T fetches the logs archived since the backup up to the first one stored well after T", () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 11, 3, 10, minute));
  const logs = [1, 2, 3, 4, 5, 9, 10].map((m) => ({ key: `logs/${m}`, size: 1, modified: at(m) }));
  const keys = (list: typeof logs) => list.map((l) => l.key);
  assert.deepEqual(keys(logsToFetch(logs, at(2), at(3))), ["logs/2", "logs/3", "logs/4", "logs/5", "logs/9"]);
  assert.deepEqual(keys(logsToFetch(logs, undefined, at(10))), keys(logs));
  assert.deepEqual(keys(logsToFetch(logs, at(4), undefined)), ["logs/4", "logs/5", "logs/9", "logs/10"]);
});
