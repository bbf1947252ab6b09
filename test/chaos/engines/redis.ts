import { redis } from "../../conformance/engines/redis.js";
import type { ClusterHandle, Instance } from "../../conformance/harness.js";
import type { ChaosDescriptor, InstanceSession, WriteSession } from "../harness.js";
import { RespConnection, RespError, infoFields, type Reply } from "./resp.js";

const PORT = 6379;
const SENTINEL_PORT = 26379;
/** A set per stream: SADD of an id is the write, SMEMBERS the ids stored. */
const key = (stream: string) => `tessera-chaos:${stream}`;
/** Where the watcher's probe writes go, apart from the writer's data. */
const PROBE_KEY = "tessera-chaos-probe";

/**
 * The epoch of a primary: `second_repl_offset`, the replication offset at
 * which it was promoted (Redis keeps one offset along the history a
 * promotion continues, so a later promotion has a larger one). A primary
 * never promoted reports -1, counted as 0. Redis has no promotion counter
 * of its own; the Sentinels' config epoch is one, but only the Sentinels
 * know it, not the instance that answers a write.
 */
function epochOf(replication: Map<string, string>): number {
  return Math.max(0, Number(replication.get("second_repl_offset") ?? -1));
}

async function replicationOf(connection: RespConnection): Promise<Map<string, string>> {
  return infoFields(await connection.command("INFO", "replication"));
}

/** Whether a host Redis or a Sentinel names (a pod FQDN, or an IP) is this instance. */
const names = (host: string | undefined, instance: Instance) =>
  host === instance.ip || (host?.startsWith(`${instance.name}.`) ?? false);

/** Why a Sentinel does not (yet) name `primary` as the primary of the cluster. */
async function sentinelProblems(cluster: ClusterHandle, primary: Instance): Promise<string[]> {
  const { password } = await cluster.account("redis-sentinel", "default");
  const sentinels = await cluster.instances("redis-sentinel");
  return (
    await Promise.all(
      sentinels.map(async (sentinel) => {
        const connection = await RespConnection.open(sentinel.ip, SENTINEL_PORT, password, 2000).catch(
          () => undefined,
        );
        if (!connection) return `Sentinel ${sentinel.name} does not answer`;
        try {
          const reply = await connection.command("SENTINEL", "get-master-addr-by-name", cluster.name);
          const host = Array.isArray(reply) ? reply[0] : undefined;
          return typeof host === "string" && names(host, primary)
            ? undefined
            : `Sentinel ${sentinel.name} names ${String(host)} as the primary`;
        } catch (error) {
          return `Sentinel ${sentinel.name}: ${(error as Error).message}`;
        } finally {
          connection.destroy();
        }
      }),
    )
  ).filter((problem): problem is string => problem !== undefined);
}

/**
 * Redis with Sentinel for the chaos suite. Each write is a transaction
 * through the `redis` (primary) service: SADD of the id, then INFO
 * replication, so the server that acknowledged the write also says that it
 * was the primary and since when (its epoch). An instance claims the
 * writable role when its replication role is master. Replication is
 * asynchronous: the descriptor declares that failover may lose
 * acknowledged writes, and the suite reports how many.
 */
export const redisChaos: ChaosDescriptor = {
  engine: redis,

  async bind(cluster) {
    const { password } = await cluster.account("redis", "default");
    const rw = await cluster.serviceIP("redis", "redis");
    const open = (host: string, timeoutMs: number) => RespConnection.open(host, PORT, password, timeoutMs);

    return {
      async writer(timeoutMs): Promise<WriteSession> {
        const connection = await open(rw, timeoutMs);
        // The service picks one server per connection: the address it binds is the one that acknowledges.
        const bind = await connection.command("CONFIG", "GET", "bind").catch((error: Error) => {
          connection.destroy();
          throw error;
        });
        const server = String((bind as Reply[])[1]).split(" ")[0]!;
        return {
          async write(stream, id) {
            const replies = await connection.pipeline([
              ["MULTI"],
              ["SADD", key(stream), String(id)],
              ["INFO", "replication"],
              ["EXEC"],
            ]);
            const executed = replies[3];
            if (executed instanceof RespError) throw executed;
            if (!Array.isArray(executed)) throw new Error(`EXEC answered ${String(executed)}`);
            const [added, info] = executed;
            if (added instanceof RespError) throw added;
            const replication = infoFields(info!);
            if (replication.get("role") !== "master")
              throw new Error(`written on a ${replication.get("role")}`);
            return { server, epoch: epochOf(replication) };
          },
          discard: () => connection.destroy(),
        };
      },

      async instance(address, timeoutMs): Promise<InstanceSession> {
        const connection = await open(address, timeoutMs);
        return {
          async state() {
            const replication = await replicationOf(connection);
            return replication.get("role") === "master"
              ? { writable: true, epoch: epochOf(replication) }
              : { writable: false };
          },
          // Refused by a replica (read-only) and by a primary without enough replicas (min-replicas-to-write).
          async probeWrite() {
            return connection.command("SET", PROBE_KEY, String(Date.now())).then(
              () => true,
              () => false,
            );
          },
          discard: () => connection.destroy(),
        };
      },

      async stored(address, stream) {
        const connection = await open(address, 5000);
        try {
          const members = await connection.command("SMEMBERS", key(stream));
          return new Set((members as string[]).map(Number));
        } finally {
          connection.destroy();
        }
      },

      /**
       * Every replica streams from the primary (link up, on the primary's
       * replication id: a replica that kept another history would have
       * another), and every Sentinel names the primary, so the next fault
       * starts from one agreed primary.
       */
      async divergence(primary, instances) {
        const ask = async (instance: Instance) => {
          const connection = await open(instance.ip, 2000);
          try {
            return await replicationOf(connection);
          } finally {
            connection.destroy();
          }
        };
        const replid = (await ask(primary)).get("master_replid");
        const problems: string[] = [];
        for (const replica of instances.filter((i) => i.name !== primary.name)) {
          const replication = await ask(replica).catch((error: Error) => new Map([["error", error.message]]));
          const link = replication.get("master_link_status");
          if (
            replication.get("role") !== "slave" ||
            link !== "up" ||
            !names(replication.get("master_host"), primary) ||
            replication.get("master_replid") !== replid
          )
            problems.push(
              `${replica.name}: role ${replication.get("role") ?? replication.get("error")}, ` +
                `following ${replication.get("master_host")} (link ${link}), ` +
                `replication id ${replication.get("master_replid")}, primary's ${replid}`,
            );
        }
        return [...problems, ...(await sentinelProblems(cluster, primary))];
      },
    };
  },
};
