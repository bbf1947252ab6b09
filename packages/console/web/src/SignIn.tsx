import { useState, type FormEvent } from "react";
import { api } from "./api.js";

/** Sign-in with Kubernetes credentials: a bearer token, or a kubeconfig with a token or a client certificate. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [kind, setKind] = useState<"token" | "kubeconfig">("token");
  const [value, setValue] = useState("");
  const [error, setError] = useState<string>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    api("/api/session", { method: "POST", body: JSON.stringify({ [kind]: value }) }).then(
      onSignedIn,
      (e: Error) => setError(e.message),
    );
  };
  return (
    <form className="signin" onSubmit={submit}>
      <h1>Sign in to Tessera</h1>
      <p className="muted">
        Your Kubernetes identity decides what you see: every request is made with it. A tenant user&apos;s
        kubeconfig comes from <code>tessera tenant kubeconfig</code>.
      </p>
      <div>
        <label>
          <input type="radio" checked={kind === "token"} onChange={() => setKind("token")} /> Bearer token
        </label>{" "}
        <label>
          <input type="radio" checked={kind === "kubeconfig"} onChange={() => setKind("kubeconfig")} />{" "}
          Kubeconfig
        </label>
      </div>
      <textarea
        aria-label={kind}
        rows={kind === "token" ? 3 : 12}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        placeholder={kind === "token" ? "eyJhbGciOi…" : "apiVersion: v1\nkind: Config\n…"}
      />
      {error && <p className="error">{error}</p>}
      <button type="submit" disabled={!value.trim()}>
        Sign in
      </button>
    </form>
  );
}
