#!/bin/sh
# Custom operation bgrewriteaof: rewrites this instance's append-only file in
# the background and waits until the rewrite is over, so the operation reports
# its outcome rather than its start.
set -e
. /scripts/common.sh
rcli "$TESSERA_POD_IP" BGREWRITEAOF >/dev/null
while :; do
  info=$(rcli "$TESSERA_POD_IP" INFO persistence)
  if [ "$(printf '%s\n' "$info" | info_field aof_rewrite_in_progress)" = 0 ] &&
    [ "$(printf '%s\n' "$info" | info_field aof_rewrite_scheduled)" = 0 ]; then
    break
  fi
  sleep 0.2
done
status=$(printf '%s\n' "$info" | info_field aof_last_bgrewrite_status)
if [ "$status" != ok ]; then
  echo "the append-only file rewrite of $TESSERA_POD_NAME failed (aof_last_bgrewrite_status: $status)" >&2
  exit 1
fi
echo "append-only file of $TESSERA_POD_NAME rewritten"
