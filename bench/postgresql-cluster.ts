/**
 * The cluster every PostgreSQL benchmark measures: `pg`, three instances
 * with synchronous replication, small requests; `parameters` are engine
 * parameters of its component.
 */
export function postgresqlCluster(namespace: string, parameters: Record<string, string> = {}): string {
  const parametersLine = Object.keys(parameters).length
    ? `      parameters: ${JSON.stringify(parameters)}\n`
    : "";
  return `apiVersion: tessera.dev/v1alpha1
kind: Cluster
metadata: { name: pg, namespace: ${namespace} }
spec:
  clusterDef: postgresql
  topology: replication
  componentSpecs:
    - name: postgresql
      replicas: 3
${parametersLine}      resources: { requests: { cpu: 50m, memory: 128Mi }, limits: { cpu: "1", memory: 512Mi } }
      volumeClaimTemplates:
        - name: data
          spec: { storageClassName: tessera-local, resources: { requests: { storage: 1Gi } } }
`;
}
