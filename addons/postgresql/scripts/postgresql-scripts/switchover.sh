#!/bin/sh
# Planned switchover, run on the primary: stop cleanly (standbys receive all
# WAL up to the shutdown checkpoint), wait until the candidate has received
# it, and leave promoting the candidate to the operator.
set -e
. /scripts/common.sh
# Only a running primary has anything to hand over (the action may be retried).
if ! local_running || [ "$(psql_local -c 'select pg_is_in_recovery()')" != "f" ]; then
  exit 0
fi
touch "$REJOIN_MARKER"
pg_ctl -D "$PGDATA" stop -m fast -w -t 60 >/dev/null
# Read right after the stop: the supervisor only rewinds once another primary serves.
final=$(pg_controldata -D "$PGDATA" | sed -n 's/^Latest checkpoint location: *//p')
[ -n "${TESSERA_CANDIDATE_POD_FQDN:-}" ] || exit 0
log switchover "waiting for $TESSERA_CANDIDATE_POD_NAME to receive WAL up to $final"
deadline=$(($(date +%s) + 60))
while :; do
  caught_up=$(psql_remote "$TESSERA_CANDIDATE_POD_FQDN" -c "select pg_last_wal_receive_lsn() >= '$final'::pg_lsn" 2>/dev/null || true)
  [ "$caught_up" = "t" ] && exit 0
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log switchover "$TESSERA_CANDIDATE_POD_NAME did not catch up to $final"
    exit 1
  fi
  sleep 0.2
done
