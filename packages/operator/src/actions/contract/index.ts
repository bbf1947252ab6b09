export * from "./actions.js";
export * from "./environment.js";
export * from "./reference.js";
export * from "./role-probe.js";
