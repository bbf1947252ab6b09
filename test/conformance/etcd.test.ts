import { conformance } from "./suite.js";
import { etcd } from "./engines/etcd.js";

conformance(etcd);
