/**
 * How Tessera names what it creates. Part of the API: the operator builds
 * these names and clients (the CLI, tests) find objects by them.
 */
export const names = {
  component: (cluster: string, component: string) => `${cluster}-${component}`,
  instanceSet: (component: string) => component,
  /** The default template's instances are `<instanceset>-<ordinal>`. */
  instance: (instanceSet: string, ordinal: number) => `${instanceSet}-${ordinal}`,
  headlessService: (instanceSet: string) => `${instanceSet}-headless`,
  service: (component: string, service: string) => `${component}-${service}`,
  accountSecret: (component: string, account: string) => `${component}-account-${account}`,
  /** The token the in-pod agent asks of whoever runs an action through it. */
  agentSecret: (component: string) => `${component}-agent`,
  configMap: (component: string, config: string) => `${component}-${config}`,
  envConfigMap: (component: string) => `${component}-env`,
  pvc: (claimTemplate: string, pod: string) => `${claimTemplate}-${pod}`,
  podFQDN: (pod: string, headless: string, namespace: string) =>
    `${pod}.${headless}.${namespace}.svc.cluster.local`,
};

/** Where the operator keeps its leader Lease (and, by default, addon templates). */
export const OPERATOR_NAMESPACE = "tessera-system";
export const OPERATOR_LEASE = "tessera-operator";
