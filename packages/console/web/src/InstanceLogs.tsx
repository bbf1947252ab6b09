import { useEffect, useState } from "react";
import type { ClusterDetail, InstanceLog } from "@tessera/console";
import { api, type ApiError } from "./api.js";
import { Failure } from "./common.js";

const LINES = [100, 200, 500, 2000];

/**
 * The tail of an instance's container log, read again whenever the cluster
 * changes (`version`) or when asked: lines written are not Kubernetes events.
 */
export function InstanceLogs({ cluster, version }: { cluster: ClusterDetail; version: number }) {
  const [chosen, setInstance] = useState("");
  // The first instance until one is chosen, and again when the chosen one is gone.
  const instance = cluster.instances.some((i) => i.name === chosen)
    ? chosen
    : (cluster.instances[0]?.name ?? "");
  const [container, setContainer] = useState("");
  const [lines, setLines] = useState(200);
  const [reads, setReads] = useState(0);
  const [log, setLog] = useState<InstanceLog>();
  const [error, setError] = useState<ApiError | Error>();
  const containers = cluster.instances.find((i) => i.name === instance)?.containers ?? [];
  const path = `/api/clusters/${encodeURIComponent(cluster.namespace)}/${encodeURIComponent(cluster.name)}/instances/${encodeURIComponent(instance)}/log`;
  useEffect(() => {
    if (!instance) return;
    let current = true;
    const query = new URLSearchParams({ tailLines: String(lines), ...(container ? { container } : {}) });
    api<InstanceLog>(`${path}?${query}`).then(
      (read) => {
        if (!current) return;
        setLog(read);
        setError(undefined);
      },
      (failure: Error) => current && setError(failure),
    );
    return () => {
      current = false;
    };
  }, [path, instance, container, lines, reads, version]);
  if (cluster.instances.length === 0) return <p className="muted">No instances.</p>;
  return (
    <div className="logs">
      <div className="filters">
        <select
          aria-label="Instance"
          value={instance}
          onChange={(e) => {
            setInstance(e.target.value);
            setContainer("");
          }}
        >
          {cluster.instances.map((i) => (
            <option key={i.name}>{i.name}</option>
          ))}
        </select>
        <select
          aria-label="Container"
          value={container || log?.container || ""}
          onChange={(e) => setContainer(e.target.value)}
        >
          {containers.map((c) => (
            <option key={c}>{c}</option>
          ))}
        </select>
        <select aria-label="Lines" value={lines} onChange={(e) => setLines(Number(e.target.value))}>
          {LINES.map((n) => (
            <option key={n} value={n}>
              last {n} lines
            </option>
          ))}
        </select>
        <button onClick={() => setReads((r) => r + 1)}>Reload</button>
      </div>
      {error && <Failure error={error} />}
      {log && log.instance === instance && <pre className="log">{log.text || "(empty)"}</pre>}
    </div>
  );
}
