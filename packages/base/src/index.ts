export * from "./command.js";
export * from "./ports.js";
export * from "./managed-process.js";
export * from "./quantity.js";
export * from "./bundle.js";
