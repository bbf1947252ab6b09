/** Names of everything the operator creates, in one place so every controller agrees. */
export const names = {
  component: (cluster: string, component: string) => `${cluster}-${component}`,
  instanceSet: (component: string) => component,
  headlessService: (instanceSet: string) => `${instanceSet}-headless`,
  service: (component: string, service: string) => `${component}-${service}`,
  accountSecret: (component: string, account: string) => `${component}-account-${account}`,
  configMap: (component: string, config: string) => `${component}-${config}`,
  envConfigMap: (component: string) => `${component}-env`,
  pvc: (claimTemplate: string, pod: string) => `${claimTemplate}-${pod}`,
  podFQDN: (pod: string, headless: string, namespace: string) =>
    `${pod}.${headless}.${namespace}.svc.cluster.local`,
};

export const finalizers = {
  cluster: "tessera.dev/cluster",
  component: "tessera.dev/component",
} as const;
