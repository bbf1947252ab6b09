import { conformance } from "./suite.js";
import { redis } from "./engines/redis.js";

conformance(redis);
