#!/bin/sh
# A Sentinel joined. If the others monitor the primary already (the cluster
# runs), the new one starts monitoring it too and every Sentinel gets the
# quorum of the larger membership; before that, the Redis component
# registers its primary with every Sentinel when it first runs.
set -eu
. /scripts/common.sh
others=$(echo "$TESSERA_POD_FQDN_LIST" | tr ',' '\n' | grep -vx "$TESSERA_JOIN_MEMBER_POD_FQDN" | paste -sd, -)
primary=$(sentinel_primary "$others") || primary=""
[ -n "$primary" ] || exit 0
quorum=$((TESSERA_COMP_REPLICAS / 2 + 1))
sentinel_monitor "$TESSERA_JOIN_MEMBER_POD_FQDN" "$primary" "$quorum"
# Sentinels joining at the same time and not configured yet get the quorum from their own memberJoin.
for sentinel in $(echo "$others" | tr ',' ' '); do
  [ -n "$(scli "$sentinel" SENTINEL get-master-addr-by-name "$MASTER_NAME" | head -n 1)" ] || continue
  scli "$sentinel" SENTINEL SET "$MASTER_NAME" quorum "$quorum" >/dev/null
done
