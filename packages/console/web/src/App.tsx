import { useEffect, useState } from "react";
import { api, ApiError, useApi, useClusterEvents } from "./api.js";
import { SignIn } from "./SignIn.js";
import { OverviewPage } from "./OverviewPage.js";
import { ClustersPage } from "./ClustersPage.js";
import { ClusterPage } from "./ClusterPage.js";
import { CreateClusterPage } from "./CreateClusterPage.js";
import { BackupsPage } from "./BackupsPage.js";
import { TenantsPage } from "./TenantsPage.js";

/** The page the location hash names: #/, #/clusters, #/clusters/<namespace>/<name>, #/create, #/backups or #/tenants. */
function useRoute(): string[] {
  const read = () =>
    window.location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function App() {
  const [namespace, setNamespace] = useState(() => localStorage.getItem("namespace") ?? "");
  const [session, setSession] = useState(0);
  const probe = useApi<unknown>("/api/session", session);
  const signedIn = !(probe.error instanceof ApiError && probe.error.status === 401);
  const route = useRoute();
  if (!probe.data && !probe.error) return <p className="muted">Loading…</p>;
  if (!signedIn) return <SignIn onSignedIn={() => setSession((s) => s + 1)} />;
  const chooseNamespace = (value: string) => {
    localStorage.setItem("namespace", value);
    setNamespace(value);
  };
  const signOut = () => void api("/api/session", { method: "DELETE" }).then(() => setSession((s) => s + 1));
  return (
    <>
      <header>
        <strong>Tessera</strong>
        <a href="#/">Overview</a>
        <a href="#/clusters">Clusters</a>
        <a href="#/create">New cluster</a>
        <a href="#/backups">Backups</a>
        <a href="#/tenants">Tenants</a>
        <label>
          Namespace{" "}
          <input
            placeholder="all namespaces"
            defaultValue={namespace}
            onKeyDown={(e) => e.key === "Enter" && chooseNamespace(e.currentTarget.value.trim())}
            onBlur={(e) => chooseNamespace(e.currentTarget.value.trim())}
          />
        </label>
        <button onClick={signOut}>Sign out</button>
      </header>
      <main>
        <Page route={route} namespace={namespace} />
      </main>
    </>
  );
}

function Page({ route, namespace }: { route: string[]; namespace: string }) {
  const version = useClusterEvents(route[0] === "clusters" && route[1] ? route[1] : namespace);
  if (route[0] === "clusters" && route[1] && route[2])
    return <ClusterPage namespace={route[1]} name={route[2]} version={version} />;
  if (route[0] === "clusters") return <ClustersPage namespace={namespace} version={version} />;
  if (route[0] === "create") return <CreateClusterPage namespace={namespace} />;
  if (route[0] === "backups") return <BackupsPage namespace={namespace} version={version} />;
  if (route[0] === "tenants") return <TenantsPage version={version} />;
  return <OverviewPage namespace={namespace} version={version} />;
}
