import { conformance } from "./suite.js";
import { postgresql } from "./engines/postgresql.js";

conformance(postgresql);
