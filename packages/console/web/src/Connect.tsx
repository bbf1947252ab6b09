import { useState } from "react";
import type { ClusterDetail } from "@tessera/console";
import { OrNone } from "./common.js";

/** A line to paste, with a button that copies it where the browser allows (https or localhost). */
export function Copyable({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  const copy = () =>
    void navigator.clipboard?.writeText(text).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <div className="copyable">
      <code>{text}</code>
      {navigator.clipboard && <button onClick={copy}>{copied ? "Copied" : "Copy"}</button>}
    </div>
  );
}

/**
 * Where clients connect (`account@host:port` inside the cluster) and how to
 * read each account's password from its Secret: the page never shows one.
 */
export function Connect({ cluster }: { cluster: ClusterDetail }) {
  const connections = cluster.endpoints.flatMap((e) => e.connections);
  return (
    <div className="connect">
      <OrNone items={connections} render={(items) => items.map((c) => <Copyable key={c} text={c} />)} />
      {cluster.accounts.length > 0 && (
        <>
          <p className="muted">Each account&apos;s password is in its Secret; this prints it:</p>
          {cluster.accounts.map((a) => (
            <div key={a.secret} className="account">
              <span>
                {a.username} ({a.component})
              </span>
              <Copyable text={a.passwordCommand} />
            </div>
          ))}
        </>
      )}
    </div>
  );
}
