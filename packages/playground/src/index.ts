export * from "./paths.js";
export * from "./operator-process.js";
export * from "./playground.js";
export * from "./daemon-client.js";
export * from "./monitoring/config.js";
export * from "./monitoring/prometheus.js";
export * from "./monitoring/discovery.js";
export * from "./monitoring/manifests.js";
