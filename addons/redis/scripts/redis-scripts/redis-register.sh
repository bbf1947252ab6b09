#!/bin/sh
# Runs on the primary when the component first runs: every Sentinel starts
# monitoring it, then discovers the replicas and the other Sentinels itself.
set -eu
. /scripts/common.sh
[ -n "${SENTINEL_POD_FQDNS:-}" ] || exit 0
count=$(echo "$SENTINEL_POD_FQDNS" | tr ',' '\n' | grep -c .)
for sentinel in $(echo "$SENTINEL_POD_FQDNS" | tr ',' ' '); do
  sentinel_monitor "$sentinel" "$TESSERA_POD_FQDN" $((count / 2 + 1))
done
