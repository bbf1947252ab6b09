import type { ApiError } from "./api.js";

export function Phase({ phase }: { phase: string }) {
  return <span className={`phase phase-${phase.toLowerCase()}`}>{phase}</span>;
}

/** A failed load: a refusal says what the apiserver said, so a user sees why (e.g. no rights in a namespace). */
export function Failure({ error }: { error: ApiError | Error }) {
  const status = "status" in error ? ` (${error.status})` : "";
  return (
    <p className="error">
      {error.message}
      {status}
    </p>
  );
}

export function clusterHref(namespace: string, name: string): string {
  return `#/clusters/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}
