import { randomUUID } from "node:crypto";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { DEFAULT_S3_REGION, type S3Repo } from "@tessera/api";
import type { RepoCheckResult } from "./check.js";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** How long one request may take; a check makes three. */
const REQUEST_TIMEOUT_MS = 10_000;

export function s3Client(repo: S3Repo, credentials: S3Credentials): S3Client {
  return new S3Client({
    endpoint: repo.endpoint,
    region: repo.region ?? DEFAULT_S3_REGION,
    forcePathStyle: repo.forcePathStyle ?? true,
    credentials,
    // The controller retries failed checks with its own back-off.
    maxAttempts: 1,
    requestHandler: { connectionTimeout: REQUEST_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
    // Many S3-compatible servers predate the flexible checksums the SDK sends by default.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** The object key a check uses under the repository's prefix. */
export function checkKey(prefix: string | undefined, token: string): string {
  const base = prefix?.replace(/^\/+|\/+$/g, "");
  return `${base ? `${base}/` : ""}.tessera-check/${token}`;
}

/**
 * Writes a small object under the repository's prefix, reads it back, compares and deletes it:
 * what a backup and its removal will do. A failure is classified into a reason a user can act on.
 */
export async function checkS3Repo(repo: S3Repo, credentials: S3Credentials): Promise<RepoCheckResult> {
  const token = randomUUID();
  const key = checkKey(repo.prefix, token);
  const client = s3Client(repo, credentials);
  let step = "write";
  try {
    await client.send(new PutObjectCommand({ Bucket: repo.bucket, Key: key, Body: token }));
    step = "read";
    const read = await client.send(new GetObjectCommand({ Bucket: repo.bucket, Key: key }));
    const body = await read.Body?.transformToString();
    if (body !== token) {
      return failed("ReadMismatch", `object ${key} read back differs from what was written`);
    }
    step = "delete";
    await client.send(new DeleteObjectCommand({ Bucket: repo.bucket, Key: key }));
    return { ok: true };
  } catch (error) {
    return classify(error, repo, step);
  } finally {
    client.destroy();
  }
}

function failed(reason: string, message: string): RepoCheckResult {
  return { ok: false, reason, message };
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
]);

function classify(error: unknown, repo: S3Repo, step: string): RepoCheckResult {
  const where = `bucket ${repo.bucket} at ${repo.endpoint}`;
  if (error instanceof S3ServiceException) {
    const detail = `${error.name}: ${error.message}`;
    switch (error.name) {
      case "InvalidAccessKeyId":
      case "SignatureDoesNotMatch":
      case "InvalidToken":
      case "ExpiredToken":
        return failed(
          "InvalidCredentials",
          `${where} refused the credentials (${detail}); check the keys in the credentials Secret`,
        );
      case "NoSuchBucket":
        return failed("BucketNotFound", `${where} does not exist (${detail}); create it first`);
      case "AccessDenied":
      case "Forbidden":
        return failed(
          "PermissionDenied",
          `the credentials may not ${step} objects in ${where} (${detail}); grant write, read and delete`,
        );
      default:
        return failed("CheckFailed", `${step} in ${where} failed: ${detail}`);
    }
  }
  const code = networkCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code || (error instanceof Error && error.name === "TimeoutError")) {
    return failed("Unreachable", `cannot reach ${repo.endpoint}: ${code ?? message}`);
  }
  return failed("CheckFailed", `${step} in ${where} failed: ${message}`);
}

function networkCode(error: unknown): string | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
    const errors = (cause as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      const inner = errors.map(networkCode).find(Boolean);
      if (inner) return inner;
    }
  }
  return undefined;
}
