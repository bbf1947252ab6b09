// The light part of this package: where things live and the playground
// supervisor's lifecycle, without the control plane, node and operator code
// (the CLI loads this on every command).
export * from "./paths.js";
export * from "./daemon-client.js";
