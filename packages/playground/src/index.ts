export * from "./paths.js";
export * from "./operator-process.js";
export * from "./playground.js";
export * from "./daemon-client.js";
