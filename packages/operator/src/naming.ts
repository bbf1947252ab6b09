export { names } from "@tessera/api";

export const finalizers = {
  cluster: "tessera.dev/cluster",
  component: "tessera.dev/component",
} as const;
