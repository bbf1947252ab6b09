import { chaos } from "./suite.js";
import { etcdChaos } from "./engines/etcd.js";

// One round for CI; `npm run bench:chaos -- --engine etcd` runs every fault, repeatedly.
chaos(etcdChaos, ["kill"]);
