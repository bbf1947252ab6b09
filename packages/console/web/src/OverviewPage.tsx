import type { Overview } from "@tessera/console";
import { useApi } from "./api.js";
import { Failure, OrNone, Phase, Table, clusterHref } from "./common.js";

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
          <OrNone
            items={data.operationsInProgress}
            render={(items) => (
              <Table headers={["Operation", "Type", "Cluster", "Phase", "Progress"]}>
                {items.map((o) => (
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
              </Table>
            )}
          />
          <h2>Clusters in trouble</h2>
          <OrNone
            items={data.failing}
            render={(items) => (
              <ul>
                {items.map((c) => (
                  <li key={`${c.namespace}/${c.name}`}>
                    <a href={clusterHref(c.namespace, c.name)}>
                      {c.namespace}/{c.name}
                    </a>{" "}
                    <Phase phase={c.phase} /> {c.message}
                  </li>
                ))}
              </ul>
            )}
          />
        </>
      )}
    </>
  );
}
