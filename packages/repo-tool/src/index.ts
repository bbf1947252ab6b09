export { ENV as REPO_ENV, type RepoConfig } from "./config.js";
export type { ArchiveStatus } from "./archive.js";
export type { PutResult } from "./transfer.js";
