import { chaos } from "./suite.js";
import { postgresqlChaos } from "./engines/postgresql.js";

// A few rounds for CI; `npm run bench:chaos` runs every fault, repeatedly.
chaos(postgresqlChaos, [
  "kill",
  "freeze",
  "isolate-kubelet",
  "replica-isolate-kubelet",
  "operator-kill",
  "apiserver-restart",
]);
