import { fileURLToPath } from "node:url";
import {
  endpointOf,
  parametersField,
  runClient,
  type ClusterHandle,
  type Endpoint,
  type EngineDescriptor,
  type Instance,
} from "../harness.js";

const PORT = 6379;

/** redis-cli from the host as the `default` user; error replies fail (-e). */
function redisCli(host: string | Endpoint, password: string, args: string[]): Promise<string> {
  const { host: address, port } = endpointOf(host, PORT);
  return runClient("redis-cli", ["-h", address, "-p", `${port}`, "--no-auth-warning", "-e", ...args], {
    env: { REDISCLI_AUTH: password },
  });
}

const password = async (cluster: ClusterHandle) => (await cluster.account("redis", "default")).password;

async function role(instance: Instance, secret: string): Promise<string> {
  return (await redisCli(instance.ip, secret, ["ROLE"])).split("\n")[0]!;
}

export const redis: EngineDescriptor = {
  name: "redis",
  addon: fileURLToPath(new URL("../../../addons/redis/", import.meta.url)),
  component: "redis",
  container: "redis",
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
  clusterDef: redis
  topology: replication
  terminationPolicy: ${terminationPolicy}
  componentSpecs:
    - name: redis
      replicas: ${replicas}
${parametersField(parameters)}      resources: { limits: { memory: 256Mi } }
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
    - name: redis-sentinel
      replicas: 3
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 100Mi } } }
`,

  async connect(cluster, endpoint) {
    const secret = await password(cluster);
    const primary = endpoint ?? (await cluster.serviceIP("redis", "redis"));
    const replicas = endpoint ?? (await cluster.serviceIP("redis", "redis-ro"));
    return {
      write: async (key, value) => void (await redisCli(primary, secret, ["SET", key, value])),
      read: async (key) => {
        const value = (await redisCli(replicas, secret, ["GET", key])).replace(/\n$/, "");
        return value === "" ? undefined : value;
      },
      keys: async (prefix) =>
        (await redisCli(primary, secret, ["KEYS", `${prefix}*`])).split("\n").filter(Boolean),
    };
  },

  async roleOf(cluster, instance) {
    return (await role(instance, await password(cluster))) === "master" ? "primary" : "secondary";
  },

  customOp: { name: "bgrewriteaof" },
  backupMethod: "rdb",
  dynamicParameter: {
    name: "maxmemory-policy",
    value: "allkeys-lru",
    read: async (cluster, instance) =>
      (await redisCli(instance.ip, await password(cluster), ["CONFIG", "GET", "maxmemory-policy"])).split(
        "\n",
      )[1]!,
  },

  /** The primary and the replicas it reports online (announced by pod FQDN). */
  async members(cluster, instances) {
    const secret = await password(cluster);
    for (const instance of instances) {
      if ((await role(instance, secret).catch(() => "")) !== "master") continue;
      const info = await redisCli(instance.ip, secret, ["INFO", "replication"]);
      const replicas = [...info.matchAll(/^slave\d+:ip=([^.,]+)[^,]*,port=\d+,state=online/gm)].map(
        (m) => m[1]!,
      );
      return [instance.name, ...replicas];
    }
    return [];
  },

  guarantees: {
    switchover: true,
    failoverMovesWritableRole: true,
    // Replication is asynchronous: writes the killed primary acknowledged but had not sent are lost.
    failoverKeepsAcknowledgedWrites: false,
    // A switchover pauses writes until a replica has them all.
    switchoverKeepsAcknowledgedWrites: true,
  },
};
