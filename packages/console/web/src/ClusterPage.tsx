import { useEffect, useState } from "react";
import type { Chart, ClusterDetail } from "@tessera/console";
import { useApi } from "./api.js";
import { Failure, OrNone, Phase, Table } from "./common.js";
import { TimeChart } from "./Chart.js";
import { Operations } from "./Operations.js";
import { Connect } from "./Connect.js";
import { InstanceLogs } from "./InstanceLogs.js";

const RANGES = ["15m", "1h", "6h", "24h"];

/** Reloads the charts each minute: Prometheus samples are not Kubernetes events. */
function useMinuteTick(): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 60_000);
    return () => clearInterval(timer);
  }, []);
  return tick;
}

export function ClusterPage({
  namespace,
  name,
  version,
}: {
  namespace: string;
  name: string;
  version: number;
}) {
  const path = `/api/clusters/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
  const { data, error } = useApi<ClusterDetail>(path, version);
  const [range, setRange] = useState("1h");
  const charts = useApi<Chart[]>(`${path}/charts?range=${range}`, useMinuteTick());
  return (
    <>
      <h1>
        {namespace}/{name} {data && <Phase phase={data.phase} />}
      </h1>
      {error && <Failure error={error} />}
      {data && (
        <>
          <p className="muted">
            {data.engine}
            {data.topology ? `, ${data.topology} topology` : ""}
            {data.message ? ` — ${data.message}` : ""}
          </p>
          <h2>Components</h2>
          <Table headers={["Component", "Definition", "Replicas", "Phase", "Instances (role)"]}>
            {data.components.map((c) => (
              <tr key={c.name}>
                <td>{c.name}</td>
                <td>{c.definition ?? ""}</td>
                <td>{c.replicas}</td>
                <td>{c.phase && <Phase phase={c.phase} />}</td>
                <td>
                  {data.instances
                    .filter((i) => i.component === `${name}-${c.name}`)
                    .map((i) => (
                      <span key={i.name} className={`instance ${i.ready ? "ready" : "unready"}`}>
                        {i.name}
                        {i.role ? ` (${i.role})` : ""}
                      </span>
                    ))}
                </td>
              </tr>
            ))}
          </Table>
          <h2>Endpoints</h2>
          <OrNone
            items={data.endpoints}
            render={(items) => (
              <ul>
                {items.map((e) => (
                  <li key={e.service}>
                    <b>{e.service}</b>{" "}
                    {e.addresses.map((a) => (
                      <code key={a}>{a}</code>
                    ))}
                  </li>
                ))}
              </ul>
            )}
          />
          <h2>Connect</h2>
          <Connect cluster={data} />
          <h2>Conditions</h2>
          <OrNone
            items={data.conditions}
            render={(items) => (
              <Table headers={["Type", "Status", "Reason", "Message"]}>
                {items.map((c) => (
                  <tr key={c.type}>
                    <td>{c.type}</td>
                    <td>{c.status}</td>
                    <td>{c.reason}</td>
                    <td>{c.message}</td>
                  </tr>
                ))}
              </Table>
            )}
          />
          <h2>Operations</h2>
          <Operations cluster={data} />
          <h2>Logs</h2>
          <InstanceLogs cluster={data} version={version} />
          <h2>
            Performance{" "}
            {RANGES.map((r) => (
              <button key={r} className={r === range ? "active" : ""} onClick={() => setRange(r)}>
                {r}
              </button>
            ))}
          </h2>
          {charts.error && <Failure error={charts.error} />}
          <div className="charts">
            {charts.data?.map((chart) => (
              <TimeChart key={chart.id} chart={chart} />
            ))}
          </div>
        </>
      )}
    </>
  );
}
