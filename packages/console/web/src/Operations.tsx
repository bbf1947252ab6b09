import { useState } from "react";
import type { ClusterDetail } from "@tessera/console";
import { send } from "./api.js";
import { OrNone, Phase } from "./common.js";
import { Field, Unplaced, useSubmit } from "./forms.js";

const TYPES = ["Restart", "Switchover", "HorizontalScaling", "Backup"] as const;
type OperationType = (typeof TYPES)[number];

const LABELS: Record<OperationType, string> = {
  Restart: "Restart",
  Switchover: "Switchover",
  HorizontalScaling: "Scale (replicas)",
  Backup: "Backup",
};

/**
 * Starts an operation (an OpsRequest made as the user) and lists the
 * cluster's operations with their steps; the page reloads on the
 * console's events, so progress shows as the operator writes it.
 */
export function Operations({ cluster }: { cluster: ClusterDetail }) {
  const [type, setType] = useState<OperationType>("Restart");
  const [component, setComponent] = useState(cluster.components[0]?.name ?? "");
  const current = cluster.components.find((c) => c.name === component);
  const [replicas, setReplicas] = useState(String(current?.replicas ?? 1));
  const [candidate, setCandidate] = useState("");
  const [started, setStarted] = useState<string>();
  const instances = cluster.instances.filter((i) => i.component === `${cluster.name}-${component}`);
  const path = `/api/clusters/${encodeURIComponent(cluster.namespace)}/${encodeURIComponent(cluster.name)}/operations`;
  const { busy, refusal, submit } = useSubmit(
    () =>
      send<{ name: string }>("POST", path, {
        type,
        component: type === "Backup" || !component ? undefined : component,
        ...(type === "HorizontalScaling" ? { replicas } : {}),
        ...(type === "Switchover" && candidate ? { candidate } : {}),
      }),
    (ops) => setStarted(ops.name),
  );
  const fields = {
    HorizontalScaling: "spec.horizontalScaling[0]",
    Switchover: "spec.switchover[0]",
    Restart: "spec.restart[0]",
    Backup: "spec.backup",
  };
  return (
    <>
      <form className="form inline" onSubmit={submit}>
        <Field label="Operation" path="spec.type" refusal={refusal}>
          <select
            value={type}
            onChange={(e) => {
              setType(e.target.value as OperationType);
              if (!component) setComponent(cluster.components[0]?.name ?? "");
            }}
          >
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {LABELS[t]}
              </option>
            ))}
          </select>
        </Field>
        {type !== "Backup" && (
          <Field label="Component" path={`${fields[type]}.componentName`} refusal={refusal}>
            <select
              value={component}
              onChange={(e) => {
                setComponent(e.target.value);
                setCandidate("");
                setReplicas(String(cluster.components.find((c) => c.name === e.target.value)?.replicas ?? 1));
              }}
            >
              {type === "Restart" && <option value="">every component</option>}
              {cluster.components.map((c) => (
                <option key={c.name}>{c.name}</option>
              ))}
            </select>
          </Field>
        )}
        {type === "HorizontalScaling" && (
          <Field label="Replicas" path="spec.horizontalScaling[0].replicas" refusal={refusal}>
            <input type="number" min={0} value={replicas} onChange={(e) => setReplicas(e.target.value)} />
          </Field>
        )}
        {type === "Switchover" && (
          <Field label="New primary" path="spec.switchover[0].candidateName" refusal={refusal}>
            <select value={candidate} onChange={(e) => setCandidate(e.target.value)}>
              <option value="">the most advanced replica</option>
              {instances
                .filter((i) => i.ready)
                .map((i) => (
                  <option key={i.name}>{i.name}</option>
                ))}
            </select>
          </Field>
        )}
        <button type="submit" disabled={busy}>
          Start
        </button>
        <Unplaced refusal={refusal} paths={["spec.type", fields[type]]} />
        {started && !refusal && <span className="muted">Started {started}.</span>}
      </form>
      <OrNone
        items={cluster.operations}
        render={(items) => (
          <ul className="operations">
            {items.map((o) => (
              <li key={o.name}>
                <b>{o.type}</b> {o.name} <Phase phase={o.phase} /> {o.progress ?? ""}{" "}
                {o.message && <span className="muted">{o.message}</span>}
                {o.steps.length > 0 && (
                  <ol>
                    {o.steps.map((s) => (
                      <li key={s.name}>
                        {s.name} <Phase phase={s.phase} />{" "}
                        {s.message && <span className="muted">{s.message}</span>}
                      </li>
                    ))}
                  </ol>
                )}
              </li>
            ))}
          </ul>
        )}
      />
    </>
  );
}
