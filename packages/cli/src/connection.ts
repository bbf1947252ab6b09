import { shellQuote } from "@tessera/api";
import type { ConnectFacts } from "./addons.js";

export interface Endpoint {
  host: string;
  port: number;
}

export interface Credentials {
  username: string;
  password: string;
}

/** A rendered client invocation: what `cluster connect` runs and `--show` prints. */
export interface ClientInvocation {
  command: string[];
  env: Record<string, string>;
  url?: string;
}

/** Fills {host} {port} {username} {password} in one template. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(host|port|username|password)\}/g, (whole, key: string) => values[key] ?? whole);
}

/** The client command, environment and URL for an endpoint (and credentials, for engines with accounts). */
export function renderInvocation(
  facts: ConnectFacts,
  endpoint: Endpoint,
  credentials?: Credentials,
): ClientInvocation {
  const values = { host: endpoint.host, port: String(endpoint.port), ...credentials };
  return {
    command: facts.command.map((arg) => fill(arg, values)),
    env: Object.fromEntries(Object.entries(facts.env ?? {}).map(([k, v]) => [k, fill(v, values)])),
    url: facts.url ? fill(facts.url, values) : undefined,
  };
}

/** `NAME=value … command args`, ready to paste into a shell. */
export function shellLine(invocation: Pick<ClientInvocation, "command" | "env">): string {
  const env = Object.entries(invocation.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return [...env, ...invocation.command.map(shellQuote)].join(" ");
}

/**
 * A shell line that reads the password from its Secret when it runs, so it
 * can be printed without revealing the password: each template that uses
 * {password} becomes a double-quoted word around `$(passwordCommand)`.
 */
export function shellLineReadingPassword(
  facts: ConnectFacts,
  endpoint: Endpoint,
  username: string,
  passwordCommand: string,
): string {
  const values = { host: endpoint.host, port: String(endpoint.port), username };
  const word = (template: string) => {
    if (!template.includes("{password}")) return shellQuote(fill(template, values));
    const parts = template
      .split("{password}")
      .map((part) => fill(part, values).replace(/(["$`\\])/g, "\\$1"));
    return `"${parts.join(`$(${passwordCommand})`)}"`;
  };
  const env = Object.entries(facts.env ?? {}).map(([k, v]) => `${k}=${word(v)}`);
  return [...env, ...facts.command.map(word)].join(" ");
}
