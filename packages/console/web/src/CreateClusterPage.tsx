import { useState } from "react";
import type { CatalogComponent, ClusterSummary, Engine } from "@tessera/console";
import { send, useApi } from "./api.js";
import { Failure, clusterHref } from "./common.js";
import { Field, Unplaced, useSubmit } from "./forms.js";

interface ComponentForm {
  version: string;
  replicas: string;
  cpu: string;
  memory: string;
  storage: string;
}

const blank = (c: CatalogComponent): ComponentForm => ({
  version: "",
  replicas: String(Math.max(1, c.minReplicas)),
  cpu: "",
  memory: "",
  storage: c.volumes.length > 0 ? "1Gi" : "",
});

/**
 * The fields of a component's inputs, as refusals name them: CPU and memory
 * each fill a request and a limit, so a refusal of one shows on its input only.
 */
function componentPaths(c: CatalogComponent, i: number) {
  const field = `spec.componentSpecs[${i}]`;
  return {
    version: c.versions.length > 0 ? [`${field}.serviceVersion`] : [],
    replicas: [`${field}.replicas`],
    cpu: [`${field}.resources.requests.cpu`, `${field}.resources.limits.cpu`],
    memory: [`${field}.resources.requests.memory`, `${field}.resources.limits.memory`],
    storage: c.volumes.length > 0 ? [`${field}.volumeClaimTemplates`] : [],
  };
}

/**
 * The cluster creation form, generated from the installed engines: each
 * topology's components with their versions, replicas within the
 * definition's bounds, resources and storage; backups when the engine has
 * methods. The apiserver's or webhook's refusal shows on the field it names.
 */
export function CreateClusterPage({ namespace: chosen }: { namespace: string }) {
  const engines = useApi<Engine[]>("/api/engines", 0);
  const [namespace, setNamespace] = useState(chosen);
  const [name, setName] = useState("");
  const [engineName, setEngineName] = useState("");
  const [topologyName, setTopologyName] = useState("");
  const [terminationPolicy, setTerminationPolicy] = useState("Delete");
  const [components, setComponents] = useState<Record<string, ComponentForm>>({});
  const [backup, setBackup] = useState({ repo: "", schedule: "", pointInTime: false });
  const engine = engines.data?.find((e) => e.name === engineName) ?? engines.data?.[0];
  const topology =
    engine?.topologies.find((t) => t.name === topologyName) ??
    engine?.topologies.find((t) => t.default) ??
    engine?.topologies[0];
  const backupMethods = topology?.components.some((c) => c.backupMethods.length > 0) ?? false;
  const pointInTime = topology?.components.some((c) => c.pointInTime) ?? false;
  const value = (c: CatalogComponent) => components[c.name] ?? blank(c);
  const change = (c: CatalogComponent, key: keyof ComponentForm, v: string) =>
    setComponents((all) => ({ ...all, [c.name]: { ...value(c), [key]: v } }));

  const { busy, refusal, submit } = useSubmit(
    () =>
      send<ClusterSummary>("POST", "/api/clusters", {
        namespace,
        name,
        engine: engine?.name,
        topology: topology?.name,
        terminationPolicy,
        components: topology?.components.map((c) => ({ name: c.name, ...value(c) })),
        backup: backup.repo ? backup : undefined,
      }),
    (created) => {
      window.location.hash = clusterHref(created.namespace, created.name);
    },
  );

  if (engines.error) return <Failure error={engines.error} />;
  if (!engines.data) return <p className="muted">Loading…</p>;
  if (!engine || !topology) return <p className="muted">No engine is installed.</p>;
  const paths = [
    "metadata.namespace",
    "metadata.name",
    "spec.clusterDef",
    "spec.topology",
    "spec.terminationPolicy",
    "spec.backup",
    ...topology.components.flatMap((c, i) => Object.values(componentPaths(c, i)).flat()),
  ];
  return (
    <form className="form" onSubmit={submit}>
      <h1>New cluster</h1>
      <Field label="Namespace" path="metadata.namespace" refusal={refusal}>
        <input required value={namespace} onChange={(e) => setNamespace(e.target.value.trim())} />
      </Field>
      <Field label="Name" path="metadata.name" refusal={refusal}>
        <input required value={name} onChange={(e) => setName(e.target.value.trim())} />
      </Field>
      <Field label="Engine" path="spec.clusterDef" refusal={refusal}>
        <select
          value={engine.name}
          onChange={(e) => {
            setEngineName(e.target.value);
            setTopologyName("");
            setComponents({});
          }}
        >
          {engines.data.map((e) => (
            <option key={e.name}>{e.name}</option>
          ))}
        </select>
      </Field>
      <Field label="Topology" path="spec.topology" refusal={refusal}>
        <select
          value={topology.name}
          onChange={(e) => {
            setTopologyName(e.target.value);
            setComponents({});
          }}
        >
          {engine.topologies.map((t) => (
            <option key={t.name}>{t.name}</option>
          ))}
        </select>
      </Field>
      <Field label="When deleted" path="spec.terminationPolicy" refusal={refusal}>
        <select value={terminationPolicy} onChange={(e) => setTerminationPolicy(e.target.value)}>
          <option value="Delete">Delete (pods and volumes go)</option>
          <option value="WipeOut">WipeOut (volumes go even without the operator)</option>
          <option value="DoNotTerminate">DoNotTerminate (deletion refused)</option>
        </select>
      </Field>
      {topology.components.map((c, i) => {
        const field = componentPaths(c, i);
        const v = value(c);
        return (
          <fieldset key={c.name}>
            <legend>
              {c.name} <small className="muted">{c.compDef}</small>
            </legend>
            {c.versions.length > 0 && (
              <Field label="Version" path={field.version} refusal={refusal}>
                <select value={v.version} onChange={(e) => change(c, "version", e.target.value)}>
                  <option value="">newest ({c.versions[0]})</option>
                  {c.versions.map((version) => (
                    <option key={version}>{version}</option>
                  ))}
                </select>
              </Field>
            )}
            <Field
              label={`Replicas (${c.minReplicas}–${c.maxReplicas ?? "any"})`}
              path={field.replicas}
              refusal={refusal}
            >
              <input
                type="number"
                min={c.minReplicas}
                max={c.maxReplicas}
                value={v.replicas}
                onChange={(e) => change(c, "replicas", e.target.value)}
              />
            </Field>
            <Field label="CPU" path={field.cpu} refusal={refusal}>
              <input
                placeholder="e.g. 500m or 2"
                value={v.cpu}
                onChange={(e) => change(c, "cpu", e.target.value)}
              />
            </Field>
            <Field label="Memory" path={field.memory} refusal={refusal}>
              <input
                placeholder="e.g. 512Mi or 4Gi"
                value={v.memory}
                onChange={(e) => change(c, "memory", e.target.value)}
              />
            </Field>
            {c.volumes.length > 0 && (
              <Field label={`Storage (${c.volumes.join(", ")})`} path={field.storage} refusal={refusal}>
                <input value={v.storage} onChange={(e) => change(c, "storage", e.target.value)} />
              </Field>
            )}
          </fieldset>
        );
      })}
      {backupMethods && (
        <fieldset>
          <legend>Backups (optional)</legend>
          <Field label="Backup repository" path="spec.backup.repo" refusal={refusal}>
            <input
              placeholder="a BackupRepo; none: no backups"
              value={backup.repo}
              onChange={(e) => setBackup({ ...backup, repo: e.target.value.trim() })}
            />
          </Field>
          <Field label="Schedule (cron, UTC)" path="spec.backup.schedule" refusal={refusal}>
            <input
              placeholder="e.g. 0 3 * * *; none: on demand"
              value={backup.schedule}
              disabled={!backup.repo}
              onChange={(e) => setBackup({ ...backup, schedule: e.target.value })}
            />
          </Field>
          {pointInTime && (
            <Field
              label="Point-in-time recovery (archive logs)"
              path="spec.backup.pointInTime"
              refusal={refusal}
            >
              <input
                type="checkbox"
                checked={backup.pointInTime}
                disabled={!backup.repo}
                onChange={(e) => setBackup({ ...backup, pointInTime: e.target.checked })}
              />
            </Field>
          )}
        </fieldset>
      )}
      <Unplaced refusal={refusal} paths={paths} />
      <button type="submit" disabled={busy || !name || !namespace}>
        Create
      </button>
    </form>
  );
}
