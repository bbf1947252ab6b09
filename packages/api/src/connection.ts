import type { ComponentDefinition } from "./definitions.js";
import { names } from "./names.js";

/** A system account of a component and the Secret holding its user name and password. */
export interface AccountRef {
  username: string;
  secret: string;
}

/** The system accounts a component's definition declares, with the Secrets the operator keeps them in. */
export function componentAccounts(component: string, definition: ComponentDefinition): AccountRef[] {
  return (definition.spec.systemAccounts ?? []).map((account) => ({
    username: account.name,
    secret: names.accountSecret(component, account.name),
  }));
}

/** Quotes a word for POSIX shells only when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A shell command that prints an account's password from its Secret when it
 * runs, so a connection can be shown or printed without the password itself.
 * `kubectl` is the command and its options (a path, a --kubeconfig).
 */
export function passwordCommand(namespace: string, secret: string, kubectl: string[] = ["kubectl"]): string {
  const words = [...kubectl, "-n", namespace, "get", "secret", secret, "-o", "jsonpath={.data.password}"];
  return `${words.map(shellQuote).join(" ")} | base64 -d`;
}
