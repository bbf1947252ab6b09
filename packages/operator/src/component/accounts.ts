import { randomBytes, randomInt } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import type { Component, SystemAccount } from "@tessera/api";
import { isAlreadyExists, type KubeClient } from "@tessera/kube";
import { names } from "../naming.js";
import { AGENT_TOKEN_KEY } from "./agent.js";
import { ownedMetadata } from "./workload.js";

/** Letters and digits only: safe inside any config file, URL or shell word without quoting. */
const ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

export function generatePassword(length: number): string {
  let password = "";
  for (let i = 0; i < length; i++) password += ALPHABET[randomInt(ALPHABET.length)];
  return password;
}

/** Creates a Secret of the component unless it exists; an existing one is never touched. */
async function createSecretOnce(
  client: KubeClient,
  component: Component,
  cluster: string,
  name: string,
  stringData: Record<string, string>,
): Promise<void> {
  const ref = { apiVersion: "v1", kind: "Secret", namespace: component.metadata.namespace, name };
  if (await client.find(ref)) return;
  const secret: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: ownedMetadata(component, cluster, name),
    stringData,
  };
  await client.create(secret).catch((error) => {
    if (!isAlreadyExists(error)) throw error;
  });
}

/**
 * Creates the component's Secrets once: one per system account (a password, once generated, is
 * the engine's password) and the token of its in-pod agent.
 */
export async function ensureComponentSecrets(
  client: KubeClient,
  component: Component,
  cluster: string,
  accounts: SystemAccount[],
): Promise<void> {
  const owner = component.metadata.name!;
  // Independent of each other: one round trip for all instead of one per Secret.
  await Promise.all([
    ...accounts.map((account) =>
      createSecretOnce(client, component, cluster, names.accountSecret(owner, account.name), {
        username: account.name,
        password: generatePassword(account.passwordLength ?? 24),
      }),
    ),
    createSecretOnce(client, component, cluster, names.agentSecret(owner), {
      [AGENT_TOKEN_KEY]: randomBytes(32).toString("hex"),
    }),
  ]);
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
