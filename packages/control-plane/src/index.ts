export * from "./control-plane.js";
export * from "./paths.js";
