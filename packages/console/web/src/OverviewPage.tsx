import type { Overview } from "@tessera/console";
import { useApi } from "./api.js";
import { Failure, Phase, clusterHref } from "./common.js";

export function OverviewPage({ namespace, version }: { namespace: string; version: number }) {
  const query = namespace ? `?namespace=${encodeURIComponent(namespace)}` : "";
  const { data, error } = useApi<Overview>(`/api/overview${query}`, version);
  return (
    <>
      <h1>Overview {namespace && <small>in {namespace}</small>}</h1>
      {error && <Failure error={error} />}
      {data && (
        <>
          <section className="tiles">
            <div className="tile">
              <b>{data.clusters}</b> clusters
            </div>
            {Object.entries(data.clustersByPhase).map(([phase, count]) => (
              <div className="tile" key={phase}>
                <b>{count}</b> <Phase phase={phase} />
              </div>
            ))}
          </section>
          <h2>Operations in progress</h2>
          {data.operationsInProgress.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Operation</th>
                  <th>Type</th>
                  <th>Cluster</th>
                  <th>Phase</th>
                  <th>Progress</th>
                </tr>
              </thead>
              <tbody>
                {data.operationsInProgress.map((o) => (
                  <tr key={`${o.namespace}/${o.name}`}>
                    <td>
                      {o.namespace}/{o.name}
                    </td>
                    <td>{o.type}</td>
                    <td>
                      <a href={clusterHref(o.namespace, o.cluster)}>{o.cluster}</a>
                    </td>
                    <td>
                      <Phase phase={o.phase} />
                    </td>
                    <td>{o.progress ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Clusters in trouble</h2>
          {data.failing.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul>
              {data.failing.map((c) => (
                <li key={`${c.namespace}/${c.name}`}>
                  <a href={clusterHref(c.namespace, c.name)}>
                    {c.namespace}/{c.name}
                  </a>{" "}
                  <Phase phase={c.phase} /> {c.message}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </>
  );
}
