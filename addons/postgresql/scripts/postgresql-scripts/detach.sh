#!/bin/sh
# Failover, before a replica is promoted: this standby stops replicating from
# anyone, so the lost primary can get no synchronous acknowledgement from it
# and so can acknowledge no write that the promoted replica might lack.
# Succeeds only once no WAL receiver runs.
set -e
. /scripts/common.sh
write_upstream ""
local_running || exit 0
[ "$(psql_local -c 'select pg_is_in_recovery()')" = "t" ] || exit 0
psql_local -c 'select pg_reload_conf()' >/dev/null
deadline=$(($(date +%s) + 10))
until [ "$(psql_local -c 'select count(*) from pg_stat_wal_receiver')" = "0" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log detach "the WAL receiver of $TESSERA_POD_NAME is still running"
    exit 1
  fi
  sleep 0.05
done
log detach "$TESSERA_POD_NAME replicates from no one (epoch ${TESSERA_EPOCH:-?})"
