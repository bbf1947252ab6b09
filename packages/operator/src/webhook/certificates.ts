import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import {
  certificateInfo,
  createCertificateAuthority,
  issueCertificate,
  loadCertificateAuthority,
  splitPemBundle,
} from "@tessera/kube";

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateLifetimes {
  /** Lifetime of the CA the apiserver trusts through the webhook's caBundle. */
  caMs: number;
  /** Lifetime of the serving certificate. */
  servingMs: number;
  /** How often every replica checks the stored certificate, renews it when due and serves the current one. */
  checkIntervalMs: number;
}

export const DEFAULT_LIFETIMES: CertificateLifetimes = {
  caMs: 10 * 365 * DAY_MS,
  servingMs: 365 * DAY_MS,
  checkIntervalMs: 10 * 60_000,
};

/** Where the apiserver reaches the webhook: a URL host (out of cluster) or a Service (in cluster). */
export type WebhookEndpoint = { host: string } | { service: string };

/** The names the serving certificate must cover: how the apiserver reaches the webhook. */
export interface ServingNames {
  dnsNames: string[];
  ipAddresses: string[];
}

export function servingNames(options: { namespace: string; endpoint: WebhookEndpoint }): ServingNames {
  const endpoint = options.endpoint;
  if ("service" in endpoint) {
    const s = endpoint.service;
    const ns = options.namespace;
    return {
      dnsNames: ["localhost", s, `${s}.${ns}`, `${s}.${ns}.svc`, `${s}.${ns}.svc.cluster.local`],
      ipAddresses: [],
    };
  }
  return isIP(endpoint.host)
    ? { dnsNames: ["localhost"], ipAddresses: [endpoint.host] }
    : { dnsNames: ["localhost", endpoint.host], ipAddresses: [] };
}

export interface WebhookTls {
  /**
   * What the apiserver trusts: the signing CA first, then earlier CAs while
   * they are valid, so a replica still serving a certificate of the previous
   * CA keeps being trusted until it picks up the new one.
   */
  caBundle: string;
  /** Key of the first CA of the bundle, so the serving certificate is renewed without a new CA. */
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

/** Renewal is due at two thirds of a certificate's lifetime, leaving a third to roll it out. */
function renewalDue(pem: string, now: number): boolean {
  const { notBefore, notAfter } = certificateInfo(pem);
  return now >= notBefore.getTime() + ((notAfter.getTime() - notBefore.getTime()) * 2) / 3;
}

function signingCa(tls: WebhookTls): string {
  const first = splitPemBundle(tls.caBundle)[0];
  if (!first) throw new Error("the webhook CA bundle holds no certificate");
  return first;
}

function caRenewalReason(tls: WebhookTls | undefined, now: number): string | undefined {
  if (!tls) return "no certificate yet";
  if (!tls.caKeyPem) return "the CA key is not stored";
  if (renewalDue(signingCa(tls), now)) return "the CA nears the end of its lifetime";
  return undefined;
}

/** Why the stored TLS material must be renewed, or undefined when it is good as it is. */
export function renewalReason(
  tls: WebhookTls | undefined,
  names: ServingNames,
  now = Date.now(),
): string | undefined {
  const caReason = caRenewalReason(tls, now);
  if (caReason || !tls) return caReason;
  const ca = new X509Certificate(signingCa(tls));
  const leaf = new X509Certificate(tls.certPem);
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey))
    return "the serving certificate is not signed by the current CA";
  if (renewalDue(tls.certPem, now)) return "the serving certificate nears the end of its lifetime";
  const covered = certificateInfo(tls.certPem);
  const missing = [
    ...names.dnsNames.filter((n) => !covered.dnsNames.includes(n)),
    ...names.ipAddresses.filter((n) => !covered.ipAddresses.includes(n)),
  ];
  if (missing.length) return `the serving certificate does not cover ${missing.join(", ")}`;
  return undefined;
}

/**
 * New TLS material from the current one. A due serving certificate is
 * re-issued by the same CA. A due CA is replaced in two steps: first the new
 * CA joins the bundle (the old one stays while valid) and the current serving
 * certificate is kept; at the next check that certificate, no longer signed by
 * the current CA, is re-issued. By then the apiserver trusts the new CA, so
 * it is never presented a certificate it cannot verify.
 */
export async function renewTls(
  current: WebhookTls | undefined,
  names: ServingNames,
  lifetimes: CertificateLifetimes,
  now = Date.now(),
): Promise<WebhookTls> {
  const newCa = Boolean(caRenewalReason(current, now));
  const ca =
    current && !newCa
      ? await loadCertificateAuthority({ certPem: signingCa(current), keyPem: current.caKeyPem })
      : await createCertificateAuthority("tessera-webhook-ca", { validForMs: lifetimes.caMs, issuedAt: now });
  const earlier = splitPemBundle(current?.caBundle ?? "").filter(
    (pem) => pem.trim() !== ca.certPem.trim() && certificateInfo(pem).notAfter.getTime() > now,
  );
  const caBundle = [ca.certPem.trim(), ...earlier.map((pem) => pem.trim())].join("\n") + "\n";
  if (newCa && current?.certPem && certificateInfo(current.certPem).notAfter.getTime() > now)
    return { caBundle, caKeyPem: ca.keyPem, certPem: current.certPem, keyPem: current.keyPem };
  const leaf = await issueCertificate(ca, {
    commonName: "tessera-webhook",
    dnsNames: names.dnsNames,
    ipAddresses: names.ipAddresses,
    usage: "server",
    validForMs: Math.min(lifetimes.servingMs, ca.cert.notAfter.getTime() - now),
    issuedAt: now,
  });
  return { caBundle, caKeyPem: ca.keyPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
}
