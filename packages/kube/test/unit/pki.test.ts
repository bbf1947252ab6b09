import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { createCertificateAuthority, issueCertificate, loadCertificateAuthority } from "../../src/pki.js";

test("issued certificates chain to their CA and carry the requested names and groups", async () => {
  const ca = await createCertificateAuthority("test-ca");
  const leaf = await issueCertificate(ca, {
    commonName: "system:node:n1",
    organizations: ["system:nodes"],
    dnsNames: ["n1.local"],
    ipAddresses: ["127.0.0.1"],
    usage: "both",
  });
  const caCert = new X509Certificate(ca.certPem);
  const cert = new X509Certificate(leaf.certPem);
  assert.ok(cert.verify(caCert.publicKey), "leaf is signed by the CA");
  assert.ok(cert.checkIssued(caCert));
  assert.match(cert.subject, /CN=system:node:n1/);
  assert.match(cert.subject, /O=system:nodes/);
  assert.match(cert.subjectAltName ?? "", /DNS:n1\.local/);
  assert.match(cert.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
  assert.ok(caCert.ca);
  assert.equal(cert.ca, false);
});

test("a CA reloaded from PEM keeps issuing certificates that verify", async () => {
  const ca = await createCertificateAuthority("test-ca");
  const reloaded = await loadCertificateAuthority({ certPem: ca.certPem, keyPem: ca.keyPem });
  const leaf = await issueCertificate(reloaded, { commonName: "x", usage: "server", dnsNames: ["x"] });
  assert.ok(new X509Certificate(leaf.certPem).verify(new X509Certificate(ca.certPem).publicKey));
});

test("an IP SAN that is not an IP is refused", async () => {
  const ca = await createCertificateAuthority("test-ca");
  await assert.rejects(
    issueCertificate(ca, { commonName: "x", usage: "server", ipAddresses: ["not-an-ip"] }),
    /not an IP address/,
  );
});
