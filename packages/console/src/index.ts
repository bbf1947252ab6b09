export * from "./server.js";
export * from "./sessions.js";
export * from "./views.js";
export * from "./metrics.js";
export * from "./events.js";
