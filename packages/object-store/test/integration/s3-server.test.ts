import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { isListening, runCommand } from "@tessera/base";
import { testRoot } from "@tessera/testing";
import { S3Server } from "../../src/s3-server.js";

async function errorName(action: Promise<unknown>): Promise<string> {
  try {
    await action;
  } catch (error) {
    return (error as Error).name;
  }
  return "no error";
}

test("the S3 server stores, returns and deletes objects, refuses bad keys, and leaves nothing behind", async () => {
  const server = await S3Server.start({ parentDir: testRoot() });
  const port = Number(new URL(server.endpoint).port);
  try {
    await server.createBucket("backups");
    const client = server.client();
    try {
      await client.send(new PutObjectCommand({ Bucket: "backups", Key: "a/b.txt", Body: "hello" }));
      const read = await client.send(new GetObjectCommand({ Bucket: "backups", Key: "a/b.txt" }));
      assert.equal(await read.Body?.transformToString(), "hello");
      await client.send(new DeleteObjectCommand({ Bucket: "backups", Key: "a/b.txt" }));
      assert.equal(
        await errorName(client.send(new GetObjectCommand({ Bucket: "backups", Key: "a/b.txt" }))),
        "NoSuchKey",
      );
      assert.equal(
        await errorName(client.send(new GetObjectCommand({ Bucket: "missing", Key: "x" }))),
        "NoSuchBucket",
      );
    } finally {
      client.destroy();
    }

    const wrong = server.client({ ...server.credentials, secretAccessKey: "wrong" });
    const reader = server.client(server.readOnlyCredentials);
    try {
      assert.equal(
        await errorName(wrong.send(new PutObjectCommand({ Bucket: "backups", Key: "x", Body: "x" }))),
        "SignatureDoesNotMatch",
      );
      assert.equal(
        await errorName(reader.send(new PutObjectCommand({ Bucket: "backups", Key: "x", Body: "x" }))),
        "AccessDenied",
      );
    } finally {
      wrong.destroy();
      reader.destroy();
    }
  } finally {
    await server.stop();
  }
  assert.equal(existsSync(server.dir), false);
  assert.equal(await isListening("127.0.0.1", port, 1000), false);
  const left = await runCommand("pgrep", ["-f", server.dir]);
  assert.equal(left.stdout.trim(), "", `processes left: ${left.stdout}`);
});
