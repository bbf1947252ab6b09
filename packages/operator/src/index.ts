export * from "./operator.js";
export * from "./definitions.js";
export { validateCluster, validateClusterDelete } from "./webhook/validate.js";
