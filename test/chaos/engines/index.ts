import type { ChaosDescriptor } from "../harness.js";
import { etcdChaos } from "./etcd.js";
import { postgresqlChaos } from "./postgresql.js";
import { redisChaos } from "./redis.js";

/** Engines with a chaos descriptor, by name (as in `npm run bench:chaos -- --engine <name>`). */
export const CHAOS_ENGINES: Record<string, ChaosDescriptor> = {
  postgresql: postgresqlChaos,
  redis: redisChaos,
  etcd: etcdChaos,
};
