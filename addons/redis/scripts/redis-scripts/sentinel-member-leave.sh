#!/bin/sh
# A Sentinel is leaving. Sentinels never forget a peer by themselves, and a
# forgotten-but-counted peer raises the majority a failover needs. So the
# leaving one stops monitoring (and announcing itself), then each remaining
# Sentinel in turn is reset (SENTINEL RESET forgets peers and replicas) and,
# before the next is reset, relearns the live Sentinels and the primary's
# replicas: a Sentinel that knows no replica could not fail over.
set -eu
. /scripts/common.sh
leaving=$TESSERA_LEAVE_MEMBER_POD_FQDN
scli "$leaving" SENTINEL REMOVE "$MASTER_NAME" >/dev/null 2>&1 || true
remaining=$(echo "$TESSERA_POD_FQDN_LIST" | tr ',' '\n' | grep -vx "$leaving" || true)
count=$(echo "$remaining" | grep -c . || true)
quorum=$((count / 2 + 1))
primary=$(sentinel_primary "$(echo "$remaining" | paste -sd, -)") || primary=""
[ -n "$primary" ] || exit 0
# The primary's replicas, asked as the ACL user the Sentinels log in as.
replicas=$(REDISCLI_AUTH=$SENTINEL_REDIS_PASSWORD timeout 3 redis-cli --user sentinel -h "$primary" -p 6379 \
  --no-auth-warning -e INFO replication | info_field connected_slaves)
for sentinel in $remaining; do
  [ -n "$(scli "$sentinel" SENTINEL get-master-addr-by-name "$MASTER_NAME" | head -n 1)" ] || continue
  log leave "resetting Sentinel $sentinel"
  scli "$sentinel" SENTINEL RESET "$MASTER_NAME" >/dev/null
  scli "$sentinel" SENTINEL SET "$MASTER_NAME" quorum "$quorum" >/dev/null
  deadline=$(($(date +%s) + 30))
  until [ "$(sentinel_field "$sentinel" num-other-sentinels)" -ge $((count - 1)) ] 2>/dev/null &&
    [ "$(sentinel_field "$sentinel" num-slaves)" -ge "${replicas:-0}" ] 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log leave "Sentinel $sentinel did not relearn the other Sentinels and the replicas"
      exit 1
    fi
    sleep 0.5
  done
done
