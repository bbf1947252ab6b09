import { fileURLToPath } from "node:url";
import {
  endpointOf,
  parametersField,
  runClient,
  type Endpoint,
  type EngineDescriptor,
  type Instance,
} from "../harness.js";

const PORT = 2379;

/** etcdctl from the host against one endpoint (a member's pod IP, the client service or a node port). */
function etcdctl(host: string | Endpoint, args: string[]): Promise<string> {
  const { host: address, port } = endpointOf(host, PORT);
  return runClient("etcdctl", [
    `--endpoints=http://${address}:${port}`,
    "--dial-timeout=2s",
    "--command-timeout=5s",
    ...args,
  ]);
}

interface Member {
  id: string;
  started: boolean;
  name: string;
}

/** `etcdctl member list`: "<id>, <started|unstarted>, <name>, <peer urls>, <client urls>, <learner>". */
async function memberList(instances: Instance[]): Promise<Member[]> {
  let lastError: unknown;
  for (const instance of instances) {
    try {
      const output = await etcdctl(instance.ip, ["member", "list"]);
      return output
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const [id = "", status = "", name = ""] = line.split(", ");
          return { id, started: status === "started", name };
        });
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError ?? new Error("no etcd member to ask");
}

function statusField(status: string, field: string): string | undefined {
  return new RegExp(`^"${field}" : (.*)$`, "m").exec(status)?.[1];
}

export const etcd: EngineDescriptor = {
  name: "etcd",
  addon: fileURLToPath(new URL("../../../addons/etcd/", import.meta.url)),
  component: "etcd",
  container: "etcd",
  writableRole: "leader",
  replicas: { initial: 3, scaled: 5 },
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
  clusterDef: etcd
  topology: cluster
  terminationPolicy: ${terminationPolicy}
  componentSpecs:
    - name: etcd
      replicas: ${replicas}
${parametersField(parameters)}      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
`,

  async connect(cluster, endpoint) {
    const service = endpoint ?? (await cluster.serviceIP("etcd", "client"));
    return {
      write: async (key, value) => void (await etcdctl(service, ["put", key, value])),
      read: async (key) => {
        const value = await etcdctl(service, ["get", key, "--print-value-only"]);
        return value === "" ? undefined : value.replace(/\n$/, "");
      },
      keys: async (prefix) =>
        (await etcdctl(service, ["get", prefix, "--prefix", "--keys-only"])).split("\n").filter(Boolean),
    };
  },

  async roleOf(_cluster, instance) {
    const status = await etcdctl(instance.ip, ["endpoint", "status", "-w", "fields"]);
    return statusField(status, "MemberID") === statusField(status, "Leader") ? "leader" : "follower";
  },

  async members(_cluster, instances) {
    // Every member counts: one added but never started would show up as a mismatch.
    return (await memberList(instances)).map((m) => (m.started ? m.name : `unstarted member ${m.id}`));
  },

  scalingInvariant: {
    description: "a quorum of the members in `etcdctl member list` is healthy",
    async holds(cluster) {
      const instances = await cluster.instances("etcd");
      const members = await memberList(instances).catch(() => []);
      if (members.length === 0) return false;
      const healthy = await Promise.all(
        instances.map((i) =>
          etcdctl(i.ip, ["endpoint", "health"]).then(
            () => i.name,
            () => undefined,
          ),
        ),
      );
      const serving = members.filter((m) => healthy.includes(m.name)).length;
      return serving >= Math.floor(members.length / 2) + 1;
    },
  },

  customOp: { name: "defrag" },
  backupMethod: "snapshot",
  guarantees: {
    switchover: true,
    // The killed leader restarts at once and may win the next election again.
    failoverMovesWritableRole: false,
    failoverKeepsAcknowledgedWrites: true,
    switchoverKeepsAcknowledgedWrites: true,
  },
};
