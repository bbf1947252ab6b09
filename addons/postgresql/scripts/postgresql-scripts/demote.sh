#!/bin/sh
# Makes a stale primary step down: it stops, and its supervisor (start.sh)
# rewinds it to follow the current primary.
. /scripts/common.sh
touch "$REJOIN_MARKER"
if local_running; then
  log demote "$TESSERA_POD_NAME steps down to follow ${TESSERA_PRIMARY_POD_NAME:-the current primary}"
  pg_ctl -D "$PGDATA" stop -m fast -w -t 60 >/dev/null
fi
