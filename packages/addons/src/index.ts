export * from "./loader.js";
export * from "./crds.js";
export * from "./bundled.js";
export * from "./tenant-roles.js";
