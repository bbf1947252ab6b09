import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { certificateInfo, splitPemBundle } from "@tessera/kube";
import {
  renewalReason,
  renewTls,
  servingNames,
  type CertificateLifetimes,
} from "../../src/webhook/certificates.js";

const lifetimes: CertificateLifetimes = { caMs: 90_000, servingMs: 30_000, checkIntervalMs: 1000 };
const names = servingNames({ namespace: "tessera-system", endpoint: { service: "tessera-webhook" } });

function signedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

test("a fresh certificate covers the service's names and needs nothing until two thirds of its lifetime", async () => {
  const now = Date.now();
  const tls = await renewTls(undefined, names, lifetimes, now);
  assert.equal(renewalReason(undefined, names, now), "no certificate yet");
  assert.ok(signedBy(tls.certPem, splitPemBundle(tls.caBundle)[0]!));
  assert.deepEqual(certificateInfo(tls.certPem).dnsNames, [
    "localhost",
    "tessera-webhook",
    "tessera-webhook.tessera-system",
    "tessera-webhook.tessera-system.svc",
    "tessera-webhook.tessera-system.svc.cluster.local",
  ]);
  assert.equal(renewalReason(tls, names, now), undefined);
  assert.equal(renewalReason(tls, names, now + 15_000), undefined);
  assert.match(renewalReason(tls, names, now + 21_000) ?? "", /serving certificate nears the end/);
});

test("a due serving certificate is re-issued by the same CA, so the apiserver's bundle stays as it is", async () => {
  const now = Date.now();
  const tls = await renewTls(undefined, names, lifetimes, now);
  const renewed = await renewTls(tls, names, lifetimes, now + 21_000);
  assert.equal(renewed.caBundle, tls.caBundle);
  assert.notEqual(renewed.certPem, tls.certPem);
  assert.ok(signedBy(renewed.certPem, splitPemBundle(tls.caBundle)[0]!));
});

test("a change of the names the webhook is reached by re-issues the certificate", async () => {
  const tls = await renewTls(undefined, names, lifetimes);
  const moved = servingNames({ namespace: "databases", endpoint: { service: "tessera-webhook" } });
  assert.match(renewalReason(tls, moved) ?? "", /does not cover tessera-webhook\.databases/);
  const renewed = await renewTls(tls, moved, lifetimes);
  assert.equal(renewalReason(renewed, moved), undefined);
  assert.ok(certificateInfo(renewed.certPem).dnsNames.includes("tessera-webhook.databases.svc"));
  const byIp = servingNames({ namespace: "x", endpoint: { host: "127.0.0.1" } });
  assert.match(renewalReason(renewed, byIp) ?? "", /does not cover 127\.0\.0\.1/);
});

test("a due CA is replaced in two steps: first trusted beside the old one, then signing", async () => {
  const now = Date.now();
  // Renewed at 50 s, the serving certificate is still valid when the CA is due at 60 s.
  const tls = await renewTls(
    await renewTls(undefined, names, lifetimes, now),
    names,
    lifetimes,
    now + 50_000,
  );
  const later = now + 61_000;
  assert.match(renewalReason(tls, names, later) ?? "", /CA nears the end/);
  const trusted = await renewTls(tls, names, lifetimes, later);
  const [newCa, oldCa] = splitPemBundle(trusted.caBundle);
  assert.equal(oldCa?.trim(), splitPemBundle(tls.caBundle)[0]!.trim(), "the old CA stays trusted");
  assert.notEqual(newCa?.trim(), oldCa?.trim());
  assert.equal(trusted.certPem, tls.certPem, "the served certificate is kept for one more check");
  assert.match(renewalReason(trusted, names, later) ?? "", /not signed by the current CA/);
  const signing = await renewTls(trusted, names, lifetimes, later);
  assert.equal(signing.caBundle, trusted.caBundle);
  assert.ok(signedBy(signing.certPem, newCa!));
  assert.equal(renewalReason(signing, names, later), undefined);
  const afterOldExpiry = await renewTls(signing, names, lifetimes, now + 91_000);
  assert.equal(splitPemBundle(afterOldExpiry.caBundle).length, 1, "an expired CA leaves the bundle");
});

test("material without the CA key (as written by earlier versions) gets a new CA and keeps the old one trusted", async () => {
  const tls = await renewTls(undefined, names, lifetimes);
  const legacy = { ...tls, caKeyPem: "" };
  assert.match(renewalReason(legacy, names) ?? "", /CA key is not stored/);
  const renewed = await renewTls(legacy, names, lifetimes);
  assert.equal(splitPemBundle(renewed.caBundle).length, 2);
  assert.ok(renewed.caKeyPem);
});
