#!/bin/sh
# A Sentinel is leaving. Sentinels never forget a peer by themselves, and a
# forgotten-but-counted peer raises the majority a failover needs. So the
# leaving one stops monitoring (and announcing itself), then each remaining
# Sentinel in turn is reset (SENTINEL RESET forgets peers and replicas) and
# relearns the live ones before the next is reset.
set -eu
. /scripts/common.sh
leaving=$TESSERA_LEAVE_MEMBER_POD_FQDN
scli "$leaving" SENTINEL REMOVE "$MASTER_NAME" >/dev/null 2>&1 || true
remaining=$(echo "$TESSERA_POD_FQDN_LIST" | tr ',' '\n' | grep -vx "$leaving" || true)
count=$(echo "$remaining" | grep -c . || true)
quorum=$((count / 2 + 1))
for sentinel in $remaining; do
  [ -n "$(scli "$sentinel" SENTINEL get-master-addr-by-name "$MASTER_NAME" | head -n 1)" ] || continue
  log leave "resetting Sentinel $sentinel"
  scli "$sentinel" SENTINEL RESET "$MASTER_NAME" >/dev/null
  scli "$sentinel" SENTINEL SET "$MASTER_NAME" quorum "$quorum" >/dev/null
  deadline=$(($(date +%s) + 30))
  until [ "$(sentinel_field "$sentinel" num-other-sentinels)" -ge $((count - 1)) ] 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log leave "Sentinel $sentinel did not relearn the other Sentinels"
      exit 1
    fi
    sleep 0.5
  done
done
