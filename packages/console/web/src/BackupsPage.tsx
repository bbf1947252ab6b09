import { useState } from "react";
import type { BackupList, BackupSummary, ClusterSummary, RecoverableRange } from "@tessera/console";
import { send, useApi } from "./api.js";
import { Failure, OrNone, Phase, Table, clusterHref } from "./common.js";
import { Field, Unplaced, useSubmit } from "./forms.js";

function size(bytes: number | undefined): string {
  if (bytes === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** `2026-01-01T11:30:00Z` as a datetime-local input shows it (the page works in UTC). */
const toInput = (iso: string) => new Date(iso).toISOString().slice(0, 19);

/** A datetime-local value read as UTC; undefined when not a moment. */
function fromInput(value: string): string | undefined {
  const at = Date.parse(`${value}Z`);
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
}

function BackupForm({ namespace, clusters }: { namespace: string; clusters: ClusterSummary[] }) {
  const [cluster, setCluster] = useState("");
  const [name, setName] = useState("");
  const [created, setCreated] = useState<string>();
  const chosen = clusters.find((c) => `${c.namespace}/${c.name}` === cluster) ?? clusters[0];
  const { busy, refusal, submit } = useSubmit(
    () =>
      send<{ name: string }>("POST", "/api/backups", {
        namespace: chosen?.namespace ?? namespace,
        cluster: chosen?.name,
        name,
      }),
    (backup) => {
      setCreated(backup.name);
      setName("");
    },
  );
  return (
    <form className="form inline" onSubmit={submit}>
      <Field label="Cluster" path="spec.clusterName" refusal={refusal}>
        <select value={cluster} onChange={(e) => setCluster(e.target.value)}>
          {clusters.map((c) => (
            <option key={`${c.namespace}/${c.name}`} value={`${c.namespace}/${c.name}`}>
              {c.namespace}/{c.name}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Name" path="metadata.name" refusal={refusal}>
        <input placeholder="generated" value={name} onChange={(e) => setName(e.target.value.trim())} />
      </Field>
      <button type="submit" disabled={busy || !chosen}>
        Back up now
      </button>
      <Unplaced refusal={refusal} paths={["spec.clusterName", "metadata.name"]} />
      {created && !refusal && <span className="muted">Created {created}.</span>}
    </form>
  );
}

/**
 * Restores a Completed backup into a new cluster, to the end of the backup
 * or to a moment it can reach (after its end, within the source cluster's
 * recoverable range): a moment outside is refused here before the console
 * and the webhook would.
 */
function RestoreForm({ backup }: { backup: BackupSummary }) {
  const range: RecoverableRange | undefined = backup.restorable;
  const [name, setName] = useState(`${backup.cluster}-restored`);
  const [toPoint, setToPoint] = useState(false);
  const [moment, setMoment] = useState(range?.to ? toInput(range.to) : "");
  const pointInTime = toPoint ? fromInput(moment) : undefined;
  const outside =
    toPoint &&
    (!pointInTime ||
      !range?.from ||
      !range.to ||
      Date.parse(pointInTime) < Date.parse(range.from) ||
      Date.parse(pointInTime) > Date.parse(range.to));
  const path = `/api/backups/${encodeURIComponent(backup.namespace)}/${encodeURIComponent(backup.name)}/restore`;
  const { busy, refusal, submit } = useSubmit(
    () => send<ClusterSummary>("POST", path, { name, pointInTime }),
    (created) => {
      window.location.hash = clusterHref(created.namespace, created.name);
    },
  );
  return (
    <form className="form inline" onSubmit={submit}>
      <Field label="New cluster" path="metadata.name" refusal={refusal}>
        <input required value={name} onChange={(e) => setName(e.target.value.trim())} />
      </Field>
      <Field label="To a point in time" path="spec.restore" refusal={refusal}>
        <input
          type="checkbox"
          checked={toPoint}
          disabled={!range?.from || !range.to}
          onChange={(e) => setToPoint(e.target.checked)}
        />
      </Field>
      {toPoint && range?.from && range.to && (
        <Field label="Moment (UTC)" path="spec.restore.pointInTime" refusal={refusal}>
          <input
            type="datetime-local"
            step={1}
            min={toInput(range.from)}
            max={toInput(range.to)}
            value={moment}
            onChange={(e) => setMoment(e.target.value)}
          />
          {outside && (
            <small className="error">
              between {range.from} and {range.to}
            </small>
          )}
        </Field>
      )}
      <button type="submit" disabled={busy || outside || !name}>
        Restore
      </button>
      <Unplaced refusal={refusal} paths={["metadata.name", "spec.restore"]} />
    </form>
  );
}

export function BackupsPage({ namespace, version }: { namespace: string; version: number }) {
  const query = namespace ? `?namespace=${encodeURIComponent(namespace)}` : "";
  const { data, error } = useApi<BackupList>(`/api/backups${query}`, version);
  const clusters = useApi<ClusterSummary[]>(`/api/clusters${query}`, version);
  const [restoring, setRestoring] = useState<string>();
  return (
    <>
      <h1>Backups {namespace && <small>in {namespace}</small>}</h1>
      {clusters.data && <BackupForm namespace={namespace} clusters={clusters.data} />}
      {error && <Failure error={error} />}
      {data && (
        <OrNone
          items={data.backups}
          render={(backups) => (
            <Table headers={["Namespace", "Name", "Cluster", "Phase", "Size", "Completed", "Message", ""]}>
              {backups.map((b) => {
                const key = `${b.namespace}/${b.name}`;
                const range = b.restorable;
                return [
                  <tr key={key}>
                    <td>{b.namespace}</td>
                    <td>{b.name}</td>
                    <td>
                      <a href={clusterHref(b.namespace, b.cluster)}>{b.cluster}</a>
                    </td>
                    <td>
                      <Phase phase={b.phase} />
                    </td>
                    <td>{size(b.sizeBytes)}</td>
                    <td>{b.completionTime ? new Date(b.completionTime).toLocaleString() : ""}</td>
                    <td>{b.message ?? ""}</td>
                    <td>
                      {b.phase === "Completed" && (
                        <button onClick={() => setRestoring(restoring === key ? undefined : key)}>
                          Restore…
                        </button>
                      )}
                    </td>
                  </tr>,
                  restoring === key && (
                    <tr key={`${key}/restore`}>
                      <td colSpan={8}>
                        <p className="muted">
                          {range?.from && range.to
                            ? `${b.name} can be restored to its end or any moment from ${range.from} to ${range.to}.`
                            : `${b.name} restores to its end (no archived logs, or no recoverable range of ${b.cluster}).`}
                        </p>
                        <RestoreForm backup={b} />
                      </td>
                    </tr>
                  ),
                ];
              })}
            </Table>
          )}
        />
      )}
    </>
  );
}
