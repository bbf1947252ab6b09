import { readFileSync, statSync } from "node:fs";

/** The fields of an apiserver audit event the tests and benchmarks read. */
export interface AuditEvent {
  verb: string;
  user?: { username?: string };
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
}

/** The identity the test platform's operator (and the tests' own client) uses. */
export const OPERATOR_USER = "tessera-admin";

/** Where the audit log ends now: pass it to `auditEventsSince` to read what comes after. */
export function auditOffset(path: string): number {
  return statSync(path).size;
}

/** The audit events written after `offset` bytes of the log. */
export function auditEventsSince(path: string, offset: number): AuditEvent[] {
  return readFileSync(path)
    .subarray(offset)
    .toString("utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as AuditEvent);
}
