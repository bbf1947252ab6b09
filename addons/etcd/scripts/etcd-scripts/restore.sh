#!/bin/sh
# Restore of method "snapshot" (init container of every member of a new
# cluster): each member restores the fetched snapshot into its data directory
# with its own name and peer URL and the initial cluster of all the instances,
# as bootstrapping would (start.sh), so they start as one new cluster holding
# the snapshot's data; start.sh then finds a write-ahead log and starts the
# member from it.
set -eu
. /scripts/common.sh
dir=$TESSERA_RESTORE_DIR
[ -f "$dir/backup" ] || exit 0

# A member with a leader answers: the cluster runs already (this instance was
# added later, or its volume replaced), so it joins it as any new member does.
running_cluster() {
  for fqdn in $(echo "$TESSERA_POD_FQDN_LIST" | tr ',' ' '); do
    [ "$fqdn" = "$TESSERA_POD_FQDN" ] && continue
    status=$(etcdctl --endpoints="http://$fqdn:2379" --dial-timeout=1s --command-timeout=2s \
      endpoint status -w fields 2>/dev/null) || continue
    leader=$(status_field "$status" Leader)
    [ -n "$leader" ] && [ "$leader" != 0 ] && return 0
  done
  return 1
}

if [ -d "$DATA_DIR/member/wal" ] || running_cluster; then
  log restore "$TESSERA_POD_NAME keeps its data or joins the running cluster: not restoring"
  rm -rf "$dir"
  exit 0
fi
log restore "restoring the snapshot of ${TESSERA_RESTORE_BACKUP:-a backup} as member $TESSERA_POD_NAME"
rm -rf "$DATA_DIR" "$DATA_DIR.restoring"
etcdctl snapshot restore "$dir/backup" \
  --name "$TESSERA_POD_NAME" \
  --initial-cluster "$(bootstrap_cluster)" \
  --initial-cluster-token "$CLUSTER_TOKEN" \
  --initial-advertise-peer-urls "$PEER_URL" \
  --data-dir "$DATA_DIR.restoring"
mv "$DATA_DIR.restoring" "$DATA_DIR"
rm -rf "$dir"
