import { fileURLToPath } from "node:url";
import {
  endpointOf,
  parametersField,
  runClient,
  type ClusterHandle,
  type Endpoint,
  type EngineDescriptor,
} from "../harness.js";

const PORT = 5432;

/** One statement through psql from the host, as the `postgres` superuser; prints bare rows. */
function psql(host: string | Endpoint, password: string, sql: string): Promise<string> {
  const { host: address, port } = endpointOf(host, PORT);
  return runClient(
    "psql",
    [
      "-X",
      "-q",
      "-A",
      "-t",
      "-v",
      "ON_ERROR_STOP=1",
      `host=${address} port=${port} user=postgres dbname=postgres connect_timeout=3`,
      "-c",
      sql,
    ],
    { env: { PGPASSWORD: password } },
  );
}

const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;
const password = async (cluster: ClusterHandle) => (await cluster.account("postgresql", "postgres")).password;

export const postgresql: EngineDescriptor = {
  name: "postgresql",
  addon: fileURLToPath(new URL("../../../addons/postgresql/", import.meta.url)),
  component: "postgresql",
  container: "postgresql",
  writableRole: "primary",
  replicas: { initial: 3, scaled: 4 },
  port: PORT,

  manifest: ({
    name,
    namespace,
    replicas,
    terminationPolicy,
    parameters,
  }) => `apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  clusterDef: postgresql
  topology: replication
  terminationPolicy: ${terminationPolicy}
  componentSpecs:
    - name: postgresql
      replicas: ${replicas}
${parametersField(parameters)}      resources: { limits: { memory: 512Mi } }
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
`,

  async connect(cluster, endpoint) {
    const secret = await password(cluster);
    const primary = endpoint ?? (await cluster.serviceIP("postgresql", "rw"));
    const replicas = endpoint ?? (await cluster.serviceIP("postgresql", "ro"));
    await psql(
      primary,
      secret,
      "create table if not exists conformance (k text primary key, v text not null)",
    );
    return {
      write: async (key, value) =>
        void (await psql(
          primary,
          secret,
          `insert into conformance values (${literal(key)}, ${literal(value)}) on conflict (k) do update set v = excluded.v`,
        )),
      read: async (key) => {
        const value = (
          await psql(replicas, secret, `select v from conformance where k = ${literal(key)}`)
        ).trim();
        return value === "" ? undefined : value;
      },
      keys: async (prefix) =>
        (
          await psql(
            primary,
            secret,
            `select k from conformance where starts_with(k, ${literal(prefix)}) order by k`,
          )
        )
          .split("\n")
          .filter(Boolean),
    };
  },

  async roleOf(cluster, instance) {
    const standby = (await psql(instance.ip, await password(cluster), "select pg_is_in_recovery()")).trim();
    return standby === "t" ? "secondary" : "primary";
  },

  customOp: { name: "vacuum-analyze", parameters: { database: "postgres" } },
  backupMethod: "basebackup",
  dynamicParameter: {
    name: "work_mem",
    value: "8MB",
    read: async (cluster, instance) =>
      (await psql(instance.ip, await password(cluster), "show work_mem")).trim(),
  },

  /** The primary and the standbys streaming from it (by application_name, the pod name). */
  async members(cluster, instances) {
    const secret = await password(cluster);
    for (const instance of instances) {
      const standby = await psql(instance.ip, secret, "select pg_is_in_recovery()").catch(() => "");
      if (standby.trim() !== "f") continue;
      const streaming = await psql(
        instance.ip,
        secret,
        "select application_name from pg_stat_replication where state = 'streaming'",
      );
      return [instance.name, ...streaming.split("\n").filter(Boolean)];
    }
    return [];
  },

  guarantees: {
    switchover: true,
    failoverMovesWritableRole: true,
    // Commits wait for a synchronous standby (ANY 1): a promoted standby has every acknowledged write.
    failoverKeepsAcknowledgedWrites: true,
    switchoverKeepsAcknowledgedWrites: true,
  },
};
