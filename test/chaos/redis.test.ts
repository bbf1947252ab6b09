import { chaos } from "./suite.js";
import { redisChaos } from "./engines/redis.js";

// One round for CI; `npm run bench:chaos -- --engine redis` runs every fault, repeatedly.
chaos(redisChaos, ["kill"]);
