import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Command, Option } from "commander";
import { COMPRESSIONS, type Compression } from "./codec.js";
import { Archiver, serveStatus } from "./archive.js";
import { ENV, repoConfigFromEnv } from "./config.js";
import { fetchForRestore, UNPACKS, type Unpack } from "./restore.js";
import { openStore } from "./store.js";
import { getStream, putStream, readMeta, writeTerminationMessage } from "./transfer.js";

const store = () => openStore(repoConfigFromEnv());
const encryptionKey = () => process.env[ENV.encryptionKey] || undefined;
const compressionOption = (what: string) =>
  new Option("--compression <kind>", what).choices(COMPRESSIONS).default("zstd");
/** How long a finished stream waits for the command that wrote it to report its exit status. */
const WRITER_STATUS_TIMEOUT_MS = 60_000;

async function writerExitCode(path: string): Promise<number> {
  const deadline = Date.now() + WRITER_STATUS_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const text = (await readFile(path, "utf8").catch(() => "")).trim();
    if (text) return Number(text);
    await sleep(100);
  }
  throw new Error(
    `the command writing the backup did not report its exit status within ${WRITER_STATUS_TIMEOUT_MS / 1000} s`,
  );
}

function parseOwner(text: string): { uid: number; gid: number } {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw new Error(`--owner must be uid:gid, not ${JSON.stringify(text)}`);
  return { uid: Number(match[1]), gid: Number(match[2]) };
}

const program = new Command("tessera-repo")
  .description(
    `Streams data to and from a backup repository configured by ${ENV.kind} and its companions (see the operator's docs).`,
  )
  .option(
    "--termination-log <path>",
    "where the outcome is also written, for the operator",
    "/dev/termination-log",
  )
  .showHelpAfterError();

const terminationLog = (): string => (program.opts() as { terminationLog: string }).terminationLog;

program
  .command("put <key>")
  .description("store a stream (stdin or --input) under key; prints a JSON summary")
  .option("--input <path>", "read from this file or FIFO instead of stdin")
  .option("--meta <path>", "key=value lines the writer left about the data, added to the summary")
  .option(
    "--writer-status <path>",
    "file where the writer puts its exit status once done; a non-zero one fails the put",
  )
  .addOption(compressionOption("how to compress the data"))
  .option("--compressed", "the input is compressed as --compression says already: store it as it is")
  .action(
    async (
      key: string,
      options: {
        input?: string;
        meta?: string;
        writerStatus?: string;
        compression: Compression;
        compressed?: boolean;
      },
    ) => {
      const repo = store();
      const result = await putStream(repo, key, options.input, {
        compression: options.compression,
        compressed: options.compressed,
        encryptionKey: encryptionKey(),
      });
      if (options.writerStatus) {
        const code = await writerExitCode(options.writerStatus);
        if (code !== 0) {
          await repo.deletePrefix(key);
          throw new Error(`the backup command failed (exit status ${code}); its partial output was removed`);
        }
      }
      const summary = JSON.stringify({ ...result, meta: await readMeta(options.meta) });
      await writeTerminationMessage(terminationLog(), summary);
      console.log(summary);
    },
  );

program
  .command("get <key>")
  .description("write the data stored under key to stdout (or --output), verifying its checksum")
  .option("--sha256 <hex>", "the checksum recorded when it was stored")
  .option("--output <path>", "write to this file instead of stdout")
  .addOption(compressionOption("how the data was compressed when stored"))
  .action(async (key: string, options: { sha256?: string; output?: string; compression: Compression }) => {
    await getStream(store(), key, options.output, {
      compression: options.compression,
      sha256: options.sha256,
      encryptionKey: encryptionKey(),
    });
  });

program
  .command("list <prefix>")
  .description("list the objects under prefix as JSON lines")
  .action(async (prefix: string) => {
    for (const object of await store().list(prefix)) console.log(JSON.stringify(object));
  });

program
  .command("delete <prefix>")
  .description("delete every object under prefix")
  .action(async (prefix: string) => {
    const deleted = await store().deletePrefix(prefix);
    const summary = JSON.stringify({ deleted });
    await writeTerminationMessage(terminationLog(), summary);
    console.log(summary);
  });

program
  .command("archive")
  .description(
    "upload the log files an engine drops into <dir>/outbox, answering in <dir>/done or <dir>/failed",
  )
  .requiredOption("--dir <dir>", "the directory shared with the engine")
  .requiredOption("--prefix <prefix>", "key prefix of the archived files")
  .option("--listen <host:port>", "serve the archiver's status as JSON here")
  .action(async (options: { dir: string; prefix: string; listen?: string }) => {
    const archiver = new Archiver({
      store: store(),
      dir: options.dir,
      prefix: options.prefix,
      encryptionKey: encryptionKey(),
    });
    if (options.listen) {
      const at = options.listen.lastIndexOf(":");
      await serveStatus(archiver, options.listen.slice(0, at), Number(options.listen.slice(at + 1)));
    }
    process.on("SIGTERM", () => archiver.drain({ idleMs: 3000, maxMs: 20_000 }));
    await archiver.run();
    process.exit(0);
  });

program
  .command("fetch")
  .description("download a backup and the logs a recovery needs into --out, for the engine's restore command")
  .requiredOption("--backup <key>", "key of the backup's data")
  .requiredOption("--out <dir>", "directory to fill: backup, logs/")
  .option("--sha256 <hex>", "the backup's recorded checksum")
  .addOption(compressionOption("how the backup was compressed when stored"))
  .addOption(
    new Option(
      "--unpack <format>",
      "the backup is one archive of this format: unpack it into <out>/backup/",
    ).choices(UNPACKS),
  )
  .option("--logs <prefix>", "key prefix of the archived logs")
  .option("--logs-from <time>", "ignore logs archived before this time (RFC 3339)")
  .option(
    "--until <time>",
    "the recovery target (RFC 3339): logs archived after the first one past it are not needed",
  )
  .option("--unless-exists <path>", "do nothing when this file exists (the data was restored already)")
  .option("--first-instance-only", "do nothing unless TESSERA_POD_NAME ends in -0")
  .option("--owner <uid:gid>", "make the fetched files belong to this user and group")
  .action(
    async (options: {
      backup: string;
      out: string;
      sha256?: string;
      compression: Compression;
      unpack?: Unpack;
      logs?: string;
      logsFrom?: string;
      until?: string;
      unlessExists?: string;
      firstInstanceOnly?: boolean;
      owner?: string;
    }) => {
      if (options.unlessExists && existsSync(options.unlessExists)) {
        console.log(`${options.unlessExists} exists: the data was restored already`);
        return;
      }
      if (process.env[ENV.restoreComplete] === "true") {
        console.log("the component's restore is complete: this instance starts like any new one");
        return;
      }
      if (options.firstInstanceOnly && !process.env.TESSERA_POD_NAME?.endsWith("-0")) {
        console.log("not the first instance: it copies its data from the restored one");
        return;
      }
      const began = Date.now();
      const fetched = await fetchForRestore({
        store: store(),
        backupKey: options.backup,
        sha256: options.sha256,
        compression: options.compression,
        ...(options.unpack ? { unpack: options.unpack } : {}),
        logsPrefix: options.logs,
        logsFrom: options.logsFrom ? new Date(options.logsFrom) : undefined,
        until: options.until ? new Date(options.until) : undefined,
        out: options.out,
        encryptionKey: encryptionKey(),
        ...(options.owner ? { owner: parseOwner(options.owner) } : {}),
      });
      console.log(
        `fetched the backup and ${fetched.logs} log file(s) into ${options.out} in ${((Date.now() - began) / 1000).toFixed(2)} s`,
      );
    },
  );

program.parseAsync().catch(async (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`tessera-repo: ${message}`);
  await writeTerminationMessage(terminationLog(), message);
  process.exit(1);
});
