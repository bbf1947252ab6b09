import { randomInt } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import type { Component, SystemAccount } from "@tessera/api";
import { isAlreadyExists, type KubeClient } from "@tessera/kube";
import { names } from "../naming.js";
import { ownedMetadata } from "./workload.js";

/** Letters and digits only: safe inside any config file, URL or shell word without quoting. */
const ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

export function generatePassword(length: number): string {
  let password = "";
  for (let i = 0; i < length; i++) password += ALPHABET[randomInt(ALPHABET.length)];
  return password;
}

/**
 * Creates the Secret of each system account once. An existing Secret is
 * never touched: a password, once generated, is the engine's password.
 */
export async function ensureAccountSecrets(
  client: KubeClient,
  component: Component,
  cluster: string,
  accounts: SystemAccount[],
): Promise<void> {
  // Independent of each other: one round trip for all accounts instead of one per account.
  await Promise.all(
    accounts.map(async (account) => {
      const name = names.accountSecret(component.metadata.name!, account.name);
      const ref = { apiVersion: "v1", kind: "Secret", namespace: component.metadata.namespace, name };
      if (await client.find(ref)) return;
      const secret: V1Secret = {
        apiVersion: "v1",
        kind: "Secret",
        type: "Opaque",
        metadata: ownedMetadata(component, cluster, name),
        stringData: { username: account.name, password: generatePassword(account.passwordLength ?? 24) },
      };
      await client.create(secret).catch((error) => {
        if (!isAlreadyExists(error)) throw error;
      });
    }),
  );
}

export async function readAccountPassword(
  client: KubeClient,
  namespace: string,
  secretName: string,
): Promise<string> {
  const secret = await client.get<V1Secret>({
    apiVersion: "v1",
    kind: "Secret",
    namespace,
    name: secretName,
  });
  return Buffer.from(secret.data?.password ?? "", "base64").toString("utf8");
}
