export * from "./control-plane.js";
export * from "./managed-process.js";
export * from "./paths.js";
export * from "./ports.js";
export * from "./command.js";
export * from "./operator-process.js";
