import { Agent, request } from "node:http";
import { etcd } from "../../conformance/engines/etcd.js";
import type { ChaosDescriptor, InstanceSession, WriteSession } from "../harness.js";

const PORT = 2379;
const PREFIX = "tessera-chaos/";
/** Where the watcher's probe writes go, apart from the writer's data. */
const PROBE_KEY = "tessera-chaos-probe";

/** The header of every etcd answer: who answered, in which Raft term (64-bit numbers as strings). */
interface Header {
  member_id: string;
  raft_term: string;
}

interface Status {
  header: Header;
  leader: string;
  raftTerm: string;
  raftIndex: string;
}

const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

/**
 * One JSON call to etcd's gRPC gateway (served on the client port) over
 * `agent`'s kept connection; abandoned after timeoutMs. Neither client
 * library nor etcdctl: a process per write every 50 ms would cost more than
 * the write, and the header of each answer carries the member and term.
 */
function call<T>(agent: Agent, host: string, path: string, body: object, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      {
        host,
        port: PORT,
        path,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) reject(new Error(`etcd ${host} ${path}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text) as T);
        });
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`etcd ${host} ${path}: no answer in ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** A kept connection to one endpoint (a member or the client service); `discard` closes it at once. */
function endpoint(host: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    call: <T>(path: string, body: object, timeoutMs: number) => call<T>(agent, host, path, body, timeoutMs),
    discard: () => agent.destroy(),
  };
}

/** One call on a fresh connection. */
async function once<T>(host: string, path: string, body: object, timeoutMs = 5000): Promise<T> {
  const connection = endpoint(host);
  try {
    return await connection.call<T>(path, body, timeoutMs);
  } finally {
    connection.discard();
  }
}

/** The first key after every key that starts with `prefix` (etcd's range end for a prefix). */
function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, "utf8");
  bytes[bytes.length - 1]!++;
  return bytes.toString("base64");
}

/**
 * etcd for the chaos suite. Each write is a put through the `client`
 * service (any member takes it and answers once the leader committed it);
 * the answer's header names the member that answered and its Raft term, the
 * epoch. An instance claims the writable role when it is the leader of its
 * term; Raft allows one leader per term, so two claimants have different
 * terms and at most the newer one can commit.
 */
export const etcdChaos: ChaosDescriptor = {
  engine: etcd,

  async bind(cluster) {
    const service = await cluster.serviceIP("etcd", "client");
    // Member ids are kept across restarts and pod recreation; names are pod names.
    const members = await once<{ members: { ID: string; name: string }[] }>(
      service,
      "/v3/cluster/member/list",
      {},
    );
    const nameOf = new Map(members.members.map((m) => [m.ID, m.name]));
    let addresses = new Map<string, string>();
    const refreshAddresses = async () => {
      addresses = new Map((await cluster.instances(etcd.component)).map((i) => [i.name, i.ip]));
    };
    await refreshAddresses();

    return {
      async writer(): Promise<WriteSession> {
        // A recreated pod has a new address: looked up again, without holding the writer (the API may be away).
        refreshAddresses().catch(() => undefined);
        const connection = endpoint(service);
        return {
          async write(stream, id, timeoutMs) {
            const { header } = await connection.call<{ header: Header }>(
              "/v3/kv/put",
              { key: base64(`${PREFIX}${stream}/${id}`), value: base64("1") },
              timeoutMs,
            );
            const name = nameOf.get(header.member_id);
            return {
              server: (name && addresses.get(name)) ?? name ?? header.member_id,
              epoch: Number(header.raft_term),
            };
          },
          discard: connection.discard,
        };
      },

      async instance(address): Promise<InstanceSession> {
        const connection = endpoint(address);
        /** The term in which this member last said it leads. */
        let claimedTerm: string | undefined;
        return {
          async state(timeoutMs) {
            const status = await connection.call<Status>("/v3/maintenance/status", {}, timeoutMs);
            claimedTerm = status.leader === status.header.member_id ? status.raftTerm : undefined;
            return claimedTerm === undefined
              ? { writable: false }
              : { writable: true, epoch: Number(claimedTerm) };
          },
          /**
           * A follower forwards a put to the leader and answers too: only an
           * answer in the term this member claimed to lead counts as its own
           * acknowledgement (in that term, it was the leader).
           */
          async probeWrite(timeoutMs) {
            const term = claimedTerm;
            return connection
              .call<{ header: Header }>(
                "/v3/kv/put",
                { key: base64(PROBE_KEY), value: base64(String(Date.now())) },
                timeoutMs,
              )
              .then(
                ({ header }) => term !== undefined && header.raft_term === term,
                () => false,
              );
          },
          discard: connection.discard,
        };
      },

      async stored(address, stream) {
        const prefix = `${PREFIX}${stream}/`;
        const { kvs = [] } = await once<{ kvs?: { key: string }[] }>(address, "/v3/kv/range", {
          key: base64(prefix),
          range_end: prefixEnd(prefix),
          keys_only: true,
        });
        return new Set(
          kvs.map((kv) => Number(Buffer.from(kv.key, "base64").toString("utf8").slice(prefix.length))),
        );
      },

      /**
       * Every member follows the leader in the leader's term and has every
       * entry the leader had a moment before (asked first, so the writer's
       * ongoing puts do not keep the check from passing).
       */
      async divergence(primary, instances) {
        const leader = await once<Status>(primary.ip, "/v3/maintenance/status", {}, 2000);
        const problems: string[] = [];
        for (const member of instances.filter((i) => i.name !== primary.name)) {
          const status = await once<Status>(member.ip, "/v3/maintenance/status", {}, 2000).catch(
            (error: Error) => error,
          );
          if (status instanceof Error) problems.push(`${member.name}: ${status.message}`);
          else if (
            status.leader !== leader.header.member_id ||
            status.raftTerm !== leader.raftTerm ||
            BigInt(status.raftIndex) < BigInt(leader.raftIndex)
          )
            problems.push(
              `${member.name}: leader ${nameOf.get(status.leader) ?? status.leader} in term ${status.raftTerm} ` +
                `at index ${status.raftIndex}; ${primary.name} leads term ${leader.raftTerm} at index ${leader.raftIndex}`,
            );
        }
        return problems;
      },
    };
  },
};
