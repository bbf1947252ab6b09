import { useState } from "react";
import type { TenantSummary } from "@tessera/console";
import { send, useApi } from "./api.js";
import { Failure, OrNone, Phase, Table } from "./common.js";
import { Field, Unplaced, useSubmit } from "./forms.js";

const QUOTAS = [
  { key: "cpu", label: "CPU", hint: "e.g. 8" },
  { key: "memory", label: "Memory", hint: "e.g. 32Gi" },
  { key: "storage", label: "Storage", hint: "e.g. 500Gi" },
  { key: "clusters", label: "Clusters", hint: "e.g. 10" },
  { key: "instances", label: "Instances", hint: "e.g. 30" },
] as const;
type QuotaKey = (typeof QUOTAS)[number]["key"];
type QuotaForm = Record<QuotaKey, string>;

const quotaForm = (tenant?: TenantSummary): QuotaForm =>
  Object.fromEntries(QUOTAS.map((q) => [q.key, String(tenant?.quota[q.key] ?? "")])) as QuotaForm;

function QuotaFields({
  quota,
  onChange,
  refusal,
}: {
  quota: QuotaForm;
  onChange: (quota: QuotaForm) => void;
  refusal?: Error;
}) {
  return (
    <>
      {QUOTAS.map((q) => (
        <Field key={q.key} label={q.label} path={`spec.quota.${q.key}`} refusal={refusal}>
          <input
            placeholder={`${q.hint}; empty: no limit`}
            value={quota[q.key]}
            onChange={(e) => onChange({ ...quota, [q.key]: e.target.value.trim() })}
          />
        </Field>
      ))}
    </>
  );
}

const QUOTA_PATHS = QUOTAS.map((q) => `spec.quota.${q.key}`);

function CreateTenant({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [administrators, setAdministrators] = useState("");
  const [quota, setQuota] = useState(quotaForm());
  const { busy, refusal, submit } = useSubmit(
    () =>
      send("POST", "/api/tenants", {
        name,
        displayName,
        administrators: administrators.split(",").map((a) => a.trim()),
        quota,
      }),
    () => {
      setName("");
      onDone();
    },
  );
  return (
    <form className="form inline" onSubmit={submit}>
      <Field label="Name" path="metadata.name" refusal={refusal}>
        <input required value={name} onChange={(e) => setName(e.target.value.trim())} />
      </Field>
      <Field label="Display name" path="spec.displayName" refusal={refusal}>
        <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
      </Field>
      <Field
        label="Administrators (user names, comma-separated)"
        path="spec.administrators"
        refusal={refusal}
      >
        <input value={administrators} onChange={(e) => setAdministrators(e.target.value)} />
      </Field>
      <QuotaFields quota={quota} onChange={setQuota} refusal={refusal} />
      <button type="submit" disabled={busy || !name}>
        Create tenant
      </button>
      <Unplaced
        refusal={refusal}
        paths={["metadata.name", "spec.displayName", "spec.administrators", ...QUOTA_PATHS]}
      />
    </form>
  );
}

function EditQuota({ tenant, onDone }: { tenant: TenantSummary; onDone: () => void }) {
  const [quota, setQuota] = useState(quotaForm(tenant));
  const { busy, refusal, submit } = useSubmit(
    () => send("PATCH", `/api/tenants/${encodeURIComponent(tenant.name)}`, { quota }),
    onDone,
  );
  return (
    <form className="form inline" onSubmit={submit}>
      <QuotaFields quota={quota} onChange={setQuota} refusal={refusal} />
      <button type="submit" disabled={busy}>
        Save quota
      </button>
      <Unplaced refusal={refusal} paths={QUOTA_PATHS} />
    </form>
  );
}

/** Usage against quota, e.g. `3 / 10`, or the usage alone without a limit. */
function used(tenant: TenantSummary, key: QuotaKey): string {
  const usage = tenant.usage[key];
  const limit = tenant.quota[key];
  return `${usage ?? 0}${limit !== undefined ? ` / ${limit}` : ""}`;
}

/** Tenants, for administrators of the platform: others see the apiserver's refusal. */
export function TenantsPage({ version }: { version: number }) {
  const [reload, setReload] = useState(0);
  const { data, error } = useApi<TenantSummary[]>("/api/tenants", version + reload);
  const [editing, setEditing] = useState<string>();
  const [deleteRefusal, setDeleteRefusal] = useState<Error>();
  const refresh = () => {
    setEditing(undefined);
    setReload((r) => r + 1);
  };
  const remove = (name: string) => {
    if (!window.confirm(`Delete tenant ${name}?`)) return;
    setDeleteRefusal(undefined);
    send("DELETE", `/api/tenants/${encodeURIComponent(name)}`).then(refresh, (e: Error) =>
      setDeleteRefusal(e),
    );
  };
  return (
    <>
      <h1>Tenants</h1>
      {error && <Failure error={error} />}
      {data && (
        <>
          <CreateTenant onDone={refresh} />
          {deleteRefusal && <Failure error={deleteRefusal} />}
          <OrNone
            items={data}
            render={(tenants) => (
              <Table
                headers={["Name", "Phase", "Namespaces", "Administrators", ...QUOTAS.map((q) => q.label), ""]}
              >
                {tenants.map((t) => [
                  <tr key={t.name}>
                    <td>
                      {t.name} {t.displayName && <span className="muted">{t.displayName}</span>}
                      {t.withinQuota === false && <span className="error"> over quota</span>}
                      {t.message && <span className="error"> {t.message}</span>}
                    </td>
                    <td>
                      <Phase phase={t.phase} />
                    </td>
                    <td>{t.namespaces.join(", ")}</td>
                    <td>{t.administrators.join(", ")}</td>
                    {QUOTAS.map((q) => (
                      <td key={q.key}>{used(t, q.key)}</td>
                    ))}
                    <td>
                      <button onClick={() => setEditing(editing === t.name ? undefined : t.name)}>
                        Quota…
                      </button>{" "}
                      <button onClick={() => remove(t.name)}>Delete</button>
                    </td>
                  </tr>,
                  editing === t.name && (
                    <tr key={`${t.name}/edit`}>
                      <td colSpan={10}>
                        <EditQuota tenant={t} onDone={refresh} />
                      </td>
                    </tr>
                  ),
                ])}
              </Table>
            )}
          />
        </>
      )}
    </>
  );
}
