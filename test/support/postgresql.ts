import type { V1Pod, V1Secret, V1Service } from "@kubernetes/client-node";
import pg from "pg";
import type { KubeClient } from "@tessera/kube";

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** Superuser credentials from the account Secret and the address of one of the cluster's services. */
export async function serviceTarget(
  client: KubeClient,
  namespace: string,
  cluster: string,
  service: "rw" | "ro",
): Promise<PgTarget> {
  const svc = await client.get<V1Service>({
    apiVersion: "v1",
    kind: "Service",
    namespace,
    name: `${cluster}-postgresql-${service}`,
  });
  return {
    host: svc.spec!.clusterIP!,
    port: 5432,
    user: "postgres",
    password: await superuserPassword(client, namespace, cluster),
  };
}

export async function podTarget(
  client: KubeClient,
  namespace: string,
  cluster: string,
  pod: string,
): Promise<PgTarget> {
  const found = await client.get<V1Pod>({ apiVersion: "v1", kind: "Pod", namespace, name: pod });
  return {
    host: found.status!.podIP!,
    port: 5432,
    user: "postgres",
    password: await superuserPassword(client, namespace, cluster),
  };
}

async function superuserPassword(client: KubeClient, namespace: string, cluster: string): Promise<string> {
  const secret = await client.get<V1Secret>({
    apiVersion: "v1",
    kind: "Secret",
    namespace,
    name: `${cluster}-postgresql-account-postgres`,
  });
  return Buffer.from(secret.data!.password!, "base64").toString("utf8");
}

/** Runs one query on a fresh connection (short timeouts: the target may be failing over). */
export async function query<T extends pg.QueryResultRow = Record<string, unknown>>(
  target: PgTarget,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const connection = new pg.Client({
    ...target,
    database: "postgres",
    connectionTimeoutMillis: 3000,
    query_timeout: 10_000,
  });
  await connection.connect();
  try {
    return (await connection.query<T>(sql, params)).rows;
  } finally {
    await connection.end().catch(() => undefined);
  }
}

export interface WriterReport {
  /** Ids whose INSERT was acknowledged (COMMIT returned). */
  acknowledged: number[];
  failures: number;
  /** Longest time without a successful write, the client-visible unavailability. */
  longestGapMs: number;
}

/**
 * Inserts sequential ids through one address as fast as it can, reconnecting
 * after every failure, and remembers exactly which inserts were acknowledged.
 */
export class Writer {
  private running = false;
  private loop?: Promise<void>;
  private readonly acknowledged: number[] = [];
  private failures = 0;
  private longestGapMs = 0;

  constructor(
    private readonly target: () => Promise<PgTarget>,
    private readonly table: string,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  get count(): number {
    return this.acknowledged.length;
  }

  private async run(): Promise<void> {
    let client: pg.Client | undefined;
    let lastSuccess = Date.now();
    let next = 1;
    while (this.running) {
      try {
        if (!client) {
          client = new pg.Client({
            ...(await this.target()),
            database: "postgres",
            connectionTimeoutMillis: 2000,
            query_timeout: 5000,
          });
          client.on("error", () => undefined);
          await client.connect();
        }
        const id = next++;
        await client.query(`insert into ${this.table} (id) values ($1)`, [id]);
        this.acknowledged.push(id);
        const now = Date.now();
        this.longestGapMs = Math.max(this.longestGapMs, now - lastSuccess);
        lastSuccess = now;
      } catch {
        this.failures++;
        await client?.end().catch(() => undefined);
        client = undefined;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await client?.end().catch(() => undefined);
  }

  async stop(): Promise<WriterReport> {
    this.running = false;
    await this.loop;
    return { acknowledged: [...this.acknowledged], failures: this.failures, longestGapMs: this.longestGapMs };
  }
}

/** Acknowledged ids missing from the table: must be empty whenever the engine promises durability. */
export async function lostWrites(target: PgTarget, table: string, acknowledged: number[]): Promise<number[]> {
  const rows = await query<{ id: number }>(target, `select id from ${table}`);
  const present = new Set(rows.map((r) => Number(r.id)));
  return acknowledged.filter((id) => !present.has(id));
}

/**
 * A PostgreSQL replication cluster as the tests create it: small requests, 1Gi volumes. `extra` is
 * appended to the manifest: component fields indented by 6 spaces, spec fields by 2.
 */
export function postgresqlManifest(namespace: string, name: string, replicas: number, extra = ""): string {
  return `apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  clusterDef: postgresql
  topology: replication
  terminationPolicy: Delete
  componentSpecs:
    - name: postgresql
      replicas: ${replicas}
      resources:
        requests: { cpu: 50m, memory: 128Mi }
        limits: { cpu: "1", memory: 512Mi }
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
${extra}`;
}
