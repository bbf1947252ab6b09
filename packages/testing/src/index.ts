export * from "./test-cluster.js";
export * from "./network-slot.js";
