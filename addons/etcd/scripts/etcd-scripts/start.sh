#!/bin/sh
# Entrypoint of an etcd member. Membership is settled here, before etcd
# starts, so a member is always part of the cluster's configuration before it
# runs:
#   a member's data (WAL)  -> start; etcd knows its cluster
#   another member answers -> join: `member add` this instance (once), then
#                            start with --initial-cluster-state existing
#   no member answers      -> bootstrap: the instances created with the cluster
#                            start together with --initial-cluster-state new
set -u
. /scripts/common.sh

CONFIG=/tmp/etcd.yaml

# Sets PEER (a client URL) and MEMBERS (its member list) from the first other instance that answers.
find_peer() {
  for fqdn in $(echo "$TESSERA_POD_FQDN_LIST" | tr ',' ' '); do
    [ "$fqdn" = "$TESSERA_POD_FQDN" ] && continue
    if MEMBERS=$(etcdctl --endpoints="http://$fqdn:2379" --dial-timeout=1s --command-timeout=2s member list 2>/dev/null); then
      PEER="http://$fqdn:2379"
      return 0
    fi
  done
  return 1
}

# name=peer-URL pairs of a member list. A member that never started has no
# name yet; its name is the pod name, the first label of its peer URL's host.
initial_cluster_of() {
  printf '%s\n' "$1" | awk -F', ' '{
    name = $3
    if (name == "") { split($4, url, "//"); split(url[2], host, "."); name = host[1] }
    printf "%s%s=%s", sep, name, $4; sep = ","
  }'
}

# Whether a pod FQDN belongs to an instance this component still wants.
wanted() {
  case ",$TESSERA_POD_FQDN_LIST," in *",$1,"*) return 0 ;; *) return 1 ;; esac
}

# Adds this instance to the running cluster (if it is not a member yet) and
# sets INITIAL_CLUSTER from the membership it joins. Fails when no member answers.
join_cluster() {
  while :; do
    find_peer || return 1
    id=$(member_id "$MEMBERS" "$TESSERA_POD_NAME" "$PEER_URL")
    if [ -n "$id" ] && printf '%s\n' "$MEMBERS" | grep -q "^$id, started,"; then
      # The cluster knows this member but its volume is empty (a lost or
      # replaced volume): it must be registered afresh to receive a snapshot.
      log join "$TESSERA_POD_NAME is a member without data; re-registering it"
      etcdctl --endpoints="$PEER" member remove "$id" >/dev/null || sleep 1
      continue
    fi
    if [ -n "$id" ]; then
      INITIAL_CLUSTER=$(initial_cluster_of "$MEMBERS")
      return 0
    fi
    # One member joins at a time: while another added member has not started,
    # the quorum already counts it, so adding more would weaken the cluster.
    # A member whose instance is no longer wanted will never start: remove it.
    pending=$(printf '%s\n' "$MEMBERS" | awk -F', ' '$2 == "unstarted" { print $1 " " $4 }')
    if [ -n "$pending" ]; then
      echo "$pending" | while read -r other url; do
        host=${url#http://}
        host=${host%:*}
        if ! wanted "$host"; then
          log join "removing member $other ($url): its instance is gone"
          etcdctl --endpoints="$PEER" member remove "$other" >/dev/null || true
        fi
      done
      log join "waiting for the member added before $TESSERA_POD_NAME to start"
      sleep 1
      continue
    fi
    log join "adding $TESSERA_POD_NAME to the cluster through $PEER"
    etcdctl --endpoints="$PEER" member add "$TESSERA_POD_NAME" --peer-urls="$PEER_URL" >/dev/null || sleep 1
  done
}

# etcd creates its member directory before it has joined; only a write-ahead
# log makes a member. What a start that failed before that left behind holds
# no data: this instance joins as if its volume were empty.
if [ -d "$DATA_DIR/member" ] && [ ! -d "$DATA_DIR/member/wal" ]; then
  log start "removing the member directory of a start that never joined"
  rm -rf "${DATA_DIR:?}/member"
fi

if [ -d "$DATA_DIR/member/wal" ]; then
  STATE=existing
  INITIAL_CLUSTER="$TESSERA_POD_NAME=$PEER_URL"
elif join_cluster; then
  STATE=existing
else
  log start "no member answers: bootstrapping a new cluster of $TESSERA_COMP_REPLICAS"
  STATE=new
  INITIAL_CLUSTER=$(bootstrap_cluster)
fi

{
  cat /etc/etcd/etcd.conf
  echo
  echo "# This member ($STATE cluster state)."
  echo "name: $TESSERA_POD_NAME"
  echo "listen-peer-urls: http://$TESSERA_POD_IP:2380"
  echo "listen-client-urls: http://$TESSERA_POD_IP:2379"
  echo "listen-metrics-urls: http://$TESSERA_POD_IP:2381"
  echo "initial-advertise-peer-urls: $PEER_URL"
  echo "advertise-client-urls: http://$TESSERA_POD_FQDN:2379"
  echo "initial-cluster: $INITIAL_CLUSTER"
  echo "initial-cluster-state: $STATE"
  echo "initial-cluster-token: $CLUSTER_TOKEN"
} >"$CONFIG"
exec etcd --config-file "$CONFIG"
