import "reflect-metadata";
import { webcrypto, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";

/** @peculiar/x509 is typed against the DOM Crypto; Node's webcrypto implements it. */
const cryptoImpl = webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0];
x509.cryptoProvider.set(cryptoImpl);

/** ECDSA P-256 keeps generation fast (milliseconds) while every Kubernetes component accepts it. */
const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends KeyPairPem {
  readonly cert: x509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
}

export interface Lifetime {
  validDays?: number;
  /** Lifetime in milliseconds; wins over validDays (short lifetimes let tests observe renewal). */
  validForMs?: number;
  /** When the lifetime starts, in epoch milliseconds (default: now). */
  issuedAt?: number;
}

export interface LeafOptions extends Lifetime {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: "server" | "client" | "both";
}

/**
 * The validity window of a new certificate. It starts a little in the past to
 * tolerate clock skew between issuer and verifier: a minute, or a tenth of a
 * short lifetime so that most of the lifetime still lies ahead.
 */
function validity(lifetime: Lifetime): { notBefore: Date; notAfter: Date } {
  const now = lifetime.issuedAt ?? Date.now();
  const lifetimeMs = lifetime.validForMs ?? (lifetime.validDays ?? 3650) * DAY_MS;
  return {
    notBefore: new Date(now - Math.min(60_000, Math.floor(lifetimeMs / 10))),
    notAfter: new Date(now + lifetimeMs),
  };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

function serialNumber(): string {
  // A positive serial: clear the top bit so DER does not read it as negative.
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString("hex");
}

function distinguishedName(commonName: string, organizations: string[] = []): string {
  const escape = (value: string) => value.replace(/([,+"\\<>;=])/g, "\\$1");
  return [`CN=${escape(commonName)}`, ...organizations.map((o) => `O=${escape(o)}`)].join(", ");
}

export async function createCertificateAuthority(
  commonName: string,
  lifetime: Lifetime = {},
): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: distinguishedName(commonName),
    ...validity(lifetime),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys, certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}

export async function loadCertificateAuthority(pem: KeyPairPem): Promise<CertificateAuthority> {
  const cert = new x509.X509Certificate(pem.certPem);
  const der = x509.PemConverter.decodeFirst(pem.keyPem);
  const privateKey = await webcrypto.subtle.importKey("pkcs8", der, algorithm, true, ["sign"]);
  const publicKey = await cert.publicKey.export(algorithm, ["verify"], cryptoImpl);
  return { ...pem, cert, keys: { privateKey: privateKey as webcrypto.CryptoKey, publicKey } };
}

export async function issueCertificate(ca: CertificateAuthority, options: LeafOptions): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const names: x509.JsonGeneralName[] = [
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(options.ipAddresses ?? []).map((value) => {
      if (!isIP(value)) throw new Error(`not an IP address: ${value}`);
      return { type: "ip" as const, value };
    }),
  ];
  const extendedUsages: string[] = [];
  if (options.usage !== "client") extendedUsages.push(x509.ExtendedKeyUsage.serverAuth);
  if (options.usage !== "server") extendedUsages.push(x509.ExtendedKeyUsage.clientAuth);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: distinguishedName(options.commonName, options.organizations),
    issuer: ca.cert.subject,
    ...validity(options),
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(extendedUsages),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await privateKeyPem(keys.privateKey) };
}

/** A bare key pair, e.g. for signing service-account tokens. */
export async function createSigningKeyPair(): Promise<{ publicKeyPem: string; privateKeyPem: string }> {
  const keys = await generateKeys();
  const spki = await webcrypto.subtle.exportKey("spki", keys.publicKey);
  return {
    publicKeyPem: x509.PemConverter.encode(spki, "PUBLIC KEY"),
    privateKeyPem: await privateKeyPem(keys.privateKey),
  };
}

export interface CertificateInfo {
  notBefore: Date;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
}

/** Validity and subject alternative names of a PEM certificate (the first one of a bundle). */
export function certificateInfo(pem: string): CertificateInfo {
  const cert = new x509.X509Certificate(pem);
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON() ?? [];
  return {
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    dnsNames: names.filter((n) => n.type === "dns").map((n) => n.value),
    ipAddresses: names.filter((n) => n.type === "ip").map((n) => n.value),
  };
}

/** Every certificate of a PEM bundle, each as its own PEM. */
export function splitPemBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\s*/g) ?? [];
}
