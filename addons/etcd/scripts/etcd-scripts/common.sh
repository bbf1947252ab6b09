# Shared by every etcd script. Sourced, never executed.
# Environment contract: TESSERA_* from the operator (this instance's pod name,
# FQDN and IP; the component's pod FQDN list and names).

# Members know each other by FQDN: a recreated pod gets a new IP, never a new name.
PEER_URL="http://$TESSERA_POD_FQDN:2380"
LOCAL_ENDPOINT="http://$TESSERA_POD_IP:2379"
DATA_DIR=/data/etcd
# Members restored from a backup must compute the same cluster and member ids as bootstrapped ones.
CLUSTER_TOKEN="$TESSERA_NAMESPACE/$TESSERA_FULL_COMP_NAME"

log() {
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) tessera[$1]: $2" >&2
}

# etcdctl against this instance's own member.
ctl() {
  etcdctl --endpoints="$LOCAL_ENDPOINT" --dial-timeout=2s --command-timeout=5s "$@"
}

# Prints the (hex) id of the member named $2 or advertising peer URL $3, from
# `etcdctl member list` output ($1): "<id>, <status>, <name>, <peer urls>, <client urls>, <learner>".
member_id() {
  printf '%s\n' "$1" | awk -F', ' -v name="$2" -v url="$3" '($3 != "" && $3 == name) || $4 == url { print $1; exit }'
}

# One field of `etcdctl endpoint status -w fields` output ($1), e.g. MemberID, Leader, RaftIndex.
status_field() {
  printf '%s\n' "$1" | sed -n "s/^\"$2\" : //p" | head -n 1
}

# The initial cluster of the instances the component wants, all bootstrapping
# together: name=peer-URL pairs, named after the pods.
bootstrap_cluster() {
  echo "$TESSERA_POD_FQDN_LIST" | tr ',' '\n' | awk '{ split($0, host, "."); printf "%s%s=http://%s:2380", sep, host[1], $0; sep = "," }'
}
