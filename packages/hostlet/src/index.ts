export { Hostlet, DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, type HostletOptions } from "./hostlet.js";
export { FaultClient, type IsolateOptions } from "./faults/client.js";
export { installHostletPrerequisites, hostletManifests } from "./setup.js";
export { PROVISIONER } from "./storage/provisioner.js";
export { ImageCatalog, BUILTIN_CATALOG, type CatalogEntry } from "./images/catalog.js";
export { KUBELET_BACKOFF, type RestartBackoffOptions } from "./pods/restart-backoff.js";
export { chainNames } from "./network/iptables.js";
export { HOSTLET_MAIN, cleanupNode } from "./cleanup.js";
export { HostletProcess, hostletBundle, type HostletProcessOptions } from "./process.js";
