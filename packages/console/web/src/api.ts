import { useEffect, useState } from "react";

/**
 * A refusal of the console's API, with the apiserver's status (401, 403,
 * 404, 422 …) and message, and the field it names (`spec.componentSpecs[0].replicas`).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(path, {
    ...init,
    credentials: "same-origin",
    headers: init?.body ? { "content-type": "application/json" } : {},
  });
  const body = (await response.json().catch(() => ({}))) as { error?: string; field?: string };
  if (!response.ok) throw new ApiError(response.status, body.error ?? response.statusText, body.field);
  return body as T;
}

/** Sends `body` as JSON with `method`; the answer, or an ApiError. */
export function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  return api<T>(path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
}

export interface Loaded<T> {
  data?: T;
  error?: ApiError | Error;
}

/** GETs `path` whenever it or `version` changes; keeps the last data while reloading. */
export function useApi<T>(path: string, version: number): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({});
  useEffect(() => {
    let current = true;
    api<T>(path).then(
      (data) => current && setState({ data }),
      (error: Error) => current && setState((s) => ({ data: s.data, error })),
    );
    return () => {
      current = false;
    };
  }, [path, version]);
  return state;
}

/**
 * A number that grows with every change to the clusters, operations,
 * backups and tenants the user can see, pushed by the console from its watches
 * (server-sent events): pages reload on it instead of polling.
 */
export function useClusterEvents(namespace: string): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const source = new EventSource(
      `/api/events${namespace ? `?namespace=${encodeURIComponent(namespace)}` : ""}`,
    );
    const bump = () => setVersion((v) => v + 1);
    source.addEventListener("synced", bump);
    for (const event of ["cluster", "operation", "backup", "tenant"]) source.addEventListener(event, bump);
    return () => source.close();
  }, [namespace]);
  return version;
}
