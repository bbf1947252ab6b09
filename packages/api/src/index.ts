export * from "./common.js";
export * from "./cluster.js";
export * from "./definitions.js";
export * from "./instanceset.js";
export * from "./opsrequest.js";
export * from "./crds.js";
export * from "./names.js";
export * from "./field-path.js";
