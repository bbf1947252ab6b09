import type { ReactNode } from "react";
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

/** A table with a header row. */
export function Table({ headers, children }: { headers: string[]; children: ReactNode }) {
  return (
    <table>
      <thead>
        <tr>
          {headers.map((h) => (
            <th key={h}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}

/** What `render` makes of the items, or "None." when there are none. */
export function OrNone<T>({ items, render }: { items: T[]; render: (items: T[]) => ReactNode }) {
  return items.length === 0 ? <p className="muted">None.</p> : <>{render(items)}</>;
}
