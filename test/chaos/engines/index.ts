import type { ChaosDescriptor } from "../harness.js";
import { postgresqlChaos } from "./postgresql.js";

/** Engines with a chaos descriptor, by name (as in `npm run bench:chaos -- --engine <name>`). */
export const CHAOS_ENGINES: Record<string, ChaosDescriptor> = {
  postgresql: postgresqlChaos,
};
