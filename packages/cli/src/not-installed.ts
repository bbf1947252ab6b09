import { API_VERSION } from "@tessera/api";

/** The error for a cluster without Tessera's API, saying how to get it. */
export function notInstalled(server: string): Error {
  return new Error(
    `Tessera is not installed on the cluster at ${server} (no ${API_VERSION} API); install it with \`tessera install\`, or start a playground with \`tessera up\``,
  );
}
