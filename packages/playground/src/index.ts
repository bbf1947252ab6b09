export * from "./control-plane.js";
export * from "./paths.js";
export * from "./operator-process.js";
export * from "./hostlet-process.js";
export * from "./playground.js";
export * from "./daemon-client.js";
