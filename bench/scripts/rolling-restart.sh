#!/usr/bin/env bash
# A rolling restart as an administrator would script it with kubectl alone:
# restart each replica and wait for it, move the primary away with a
# Switchover, then restart the old primary.
# Usage: rolling-restart.sh NAMESPACE CLUSTER COMPONENT
set -euo pipefail
ns=$1 cluster=$2 component=$3
role_of() { kubectl get pod -n "$ns" "$1" -o jsonpath='{.metadata.labels.tessera\.dev/role}'; }
wait_back() {
  # A deleted pod comes back under the same name: wait until it is Ready with a role again.
  kubectl wait -n "$ns" --for=condition=Ready "pod/$1" --timeout=300s >/dev/null
  until [ -n "$(role_of "$1")" ]; do sleep 0.2; done
}
restart() {
  kubectl delete pod -n "$ns" "$1" --wait=true >/dev/null
  until kubectl get pod -n "$ns" "$1" >/dev/null 2>&1; do sleep 0.2; done
  wait_back "$1"
}
pods=$(kubectl get pods -n "$ns" -l "tessera.dev/component=$cluster-$component" -o jsonpath='{.items[*].metadata.name}')
primary=""
for pod in $pods; do
  if [ "$(role_of "$pod")" = primary ]; then primary=$pod; else restart "$pod"; fi
done
op="plain-switchover-$(date +%s%N)"
kubectl apply -f - >/dev/null <<YAML
apiVersion: tessera.dev/v1alpha1
kind: OpsRequest
metadata: { name: $op, namespace: $ns }
spec: { clusterName: $cluster, type: Switchover, switchover: [{ componentName: $component }] }
YAML
kubectl wait -n "$ns" --for=condition=Completed "opsrequest/$op" --timeout=300s >/dev/null
restart "$primary"
