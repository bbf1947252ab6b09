import pg from "pg";
import { postgresql } from "../../conformance/engines/postgresql.js";
import { query, serviceTarget, type PgTarget } from "../../support/postgresql.js";
import type { ChaosDescriptor, InstanceSession, WriteSession } from "../harness.js";

const TABLE = "tessera_chaos";
/** Where the watcher's probe writes go, apart from the writer's data. */
const PROBE_TABLE = "tessera_chaos_probe";
/**
 * The timeline the primary writes on, from its current WAL file name. Not
 * `pg_control_checkpoint()`: that timeline changes only at the next
 * checkpoint (on a replica, the next restartpoint), minutes after a promotion.
 */
const TIMELINE = "('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int";

/** Closes at once: no Terminate message, no cancel request, nothing waited for. */
function discard(client: pg.Client): void {
  client.connection.stream.destroy();
}

/**
 * A connection whose connect and queries are abandoned after timeoutMs (the
 * `pg` timeouts are client-side). `name` tells the writer's and the
 * watcher's sessions apart in pg_stat_activity.
 */
async function open(target: PgTarget, timeoutMs: number, name: string): Promise<pg.Client> {
  const client = new pg.Client({
    ...target,
    database: "postgres",
    application_name: name,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  // A broken connection fails its next query; the error event must not crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    discard(client);
    throw error;
  }
  return client;
}

/**
 * PostgreSQL for the chaos suite: each write is an INSERT through the `rw`
 * service that returns the address and timeline of the server that ran it;
 * an instance claims the writable role when it is not in recovery.
 */
export const postgresqlChaos: ChaosDescriptor = {
  engine: postgresql,

  async bind(cluster) {
    const rw = await serviceTarget(cluster.client, cluster.namespace, cluster.name, "rw");
    await query(rw, `create table if not exists ${TABLE} (stream text, id bigint, primary key (stream, id))`);
    await query(rw, `create table if not exists ${PROBE_TABLE} (at timestamptz not null)`);
    const at = (host: string): PgTarget => ({ ...rw, host });

    return {
      async writer(timeoutMs): Promise<WriteSession> {
        const client = await open(rw, timeoutMs, "tessera-chaos-writer");
        return {
          async write(stream, id) {
            const { rows } = await client.query<{ server: string; epoch: number }>(
              `insert into ${TABLE} (stream, id) values ($1, $2)
               returning host(inet_server_addr()) as server, ${TIMELINE} as epoch`,
              [stream, id],
            );
            return { server: rows[0]!.server, epoch: rows[0]!.epoch };
          },
          discard: () => discard(client),
        };
      },

      async instance(address, timeoutMs): Promise<InstanceSession> {
        const client = await open(at(address), timeoutMs, "tessera-chaos-watcher");
        return {
          async state() {
            const { rows } = await client.query<{ standby: boolean; epoch: number | null }>(
              `select pg_is_in_recovery() as standby,
                      case when pg_is_in_recovery() then null else ${TIMELINE} end as epoch`,
            );
            const row = rows[0]!;
            return row.standby ? { writable: false } : { writable: true, epoch: row.epoch! };
          },
          async probeWrite() {
            return client.query(`insert into ${PROBE_TABLE} values (clock_timestamp())`).then(
              () => true,
              () => false,
            );
          },
          discard: () => discard(client),
        };
      },

      async stored(address, stream) {
        const rows = await query<{ id: string }>(at(address), `select id from ${TABLE} where stream = $1`, [
          stream,
        ]);
        return new Set(rows.map((r) => Number(r.id)));
      },

      /** Every replica streams, on the primary's timeline: a diverged one could not (PostgreSQL refuses). */
      async divergence(primary, instances) {
        const timeline = (
          await query<{ timeline: number }>(at(primary.ip), `select ${TIMELINE} as timeline`)
        )[0]!.timeline;
        const problems: string[] = [];
        for (const replica of instances.filter((i) => i.name !== primary.name)) {
          const receiver = await query<{ status: string; received_tli: number }>(
            at(replica.ip),
            "select status, received_tli from pg_stat_wal_receiver",
          ).catch((error: Error) => [{ status: `unknown (${error.message})`, received_tli: 0 }]);
          const { status = "not receiving", received_tli = 0 } = receiver[0] ?? {};
          if (status !== "streaming" || received_tli !== timeline)
            problems.push(`${replica.name}: ${status} on timeline ${received_tli}, primary on ${timeline}`);
        }
        return problems;
      },
    };
  },
};
