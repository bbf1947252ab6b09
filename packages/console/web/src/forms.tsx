import { useState, type FormEvent, type ReactNode } from "react";
import { ApiError } from "./api.js";

/**
 * Whether a refusal names the field at `path` or one inside it. The
 * apiserver's schema check leaves out array indices
 * (`spec.componentSpecs.replicas`), so such a refusal applies to the field
 * of every item.
 */
export function names(refused: string | undefined, path: string): boolean {
  if (!refused) return false;
  const candidate = refused.includes("[") ? path : path.replace(/\[\d+\]/g, "");
  return refused === candidate || refused.startsWith(`${candidate}.`) || refused.startsWith(`${candidate}[`);
}

/** A labelled input; the refusal's message shows under it when the refusal names its field. */
export function Field({
  label,
  path,
  refusal,
  children,
}: {
  label: string;
  /** The object field(s) this input fills, e.g. `spec.componentSpecs[0].replicas`. */
  path: string | string[];
  refusal?: ApiError | Error;
  children: ReactNode;
}) {
  const paths = typeof path === "string" ? [path] : path;
  const shown = refusal instanceof ApiError && paths.some((p) => names(refusal.field, p));
  return (
    <label className={`field${shown ? " refused" : ""}`}>
      <span>{label}</span>
      {children}
      {shown && <small className="error">{refusal.message}</small>}
    </label>
  );
}

/** The refusal when no field of the form shows it (no field named, or one the form has no input for). */
export function Unplaced({ refusal, paths }: { refusal?: ApiError | Error; paths: string[] }) {
  if (!refusal) return null;
  if (refusal instanceof ApiError && paths.some((p) => names(refusal.field, p))) return null;
  const status = refusal instanceof ApiError ? ` (${refusal.status})` : "";
  return (
    <p className="error">
      {refusal.message}
      {status}
    </p>
  );
}

/** A form's submission: busy while the request runs, its refusal kept until the next try. */
export function useSubmit<T>(run: () => Promise<T>, done: (result: T) => void) {
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<ApiError | Error>();
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    setBusy(true);
    setRefusal(undefined);
    run().then(
      (result) => {
        setBusy(false);
        done(result);
      },
      (error: Error) => {
        setBusy(false);
        setRefusal(error);
      },
    );
  };
  return { busy, refusal, submit };
}
