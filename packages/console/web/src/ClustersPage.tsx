import { useState } from "react";
import type { ClusterSummary } from "@tessera/console";
import { useApi } from "./api.js";
import { Failure, Phase, Table, clusterHref } from "./common.js";

export function ClustersPage({ namespace, version }: { namespace: string; version: number }) {
  const query = namespace ? `?namespace=${encodeURIComponent(namespace)}` : "";
  const { data, error } = useApi<ClusterSummary[]>(`/api/clusters${query}`, version);
  const [filter, setFilter] = useState("");
  const [phase, setPhase] = useState("");
  const shown = (data ?? []).filter(
    (c) =>
      (!filter || c.name.includes(filter) || (c.engine ?? "").includes(filter)) &&
      (!phase || c.phase === phase),
  );
  const phases = [...new Set((data ?? []).map((c) => c.phase))].sort();
  return (
    <>
      <h1>Clusters {namespace && <small>in {namespace}</small>}</h1>
      <div className="filters">
        <input placeholder="name or engine" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <select value={phase} onChange={(e) => setPhase(e.target.value)} aria-label="phase">
          <option value="">every phase</option>
          {phases.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </div>
      {error && <Failure error={error} />}
      {data && (
        <Table headers={["Namespace", "Name", "Engine", "Topology", "Phase", "Created"]}>
          {shown.map((c) => (
            <tr key={`${c.namespace}/${c.name}`}>
              <td>{c.namespace}</td>
              <td>
                <a href={clusterHref(c.namespace, c.name)}>{c.name}</a>
              </td>
              <td>{c.engine}</td>
              <td>{c.topology ?? ""}</td>
              <td>
                <Phase phase={c.phase} />
              </td>
              <td>{c.createdAt ? new Date(c.createdAt).toLocaleString() : ""}</td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}
