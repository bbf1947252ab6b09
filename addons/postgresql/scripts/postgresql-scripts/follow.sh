#!/bin/sh
# Points this standby at the recorded primary by its own name, not through the
# rw service: a service route that still leads to a lost primary could
# otherwise reconnect a replica to it.
set -e
. /scripts/common.sh
if [ -z "${TESSERA_PRIMARY_POD_FQDN:-}" ]; then
  log follow "no primary is recorded"
  exit 1
fi
write_upstream "$TESSERA_PRIMARY_POD_FQDN"
# A stopped instance reads its upstream when it starts.
if ! psql_local -c 'select pg_reload_conf() where pg_is_in_recovery()' >/dev/null && local_running; then
  exit 1
fi
log follow "$TESSERA_POD_NAME follows $TESSERA_PRIMARY_POD_NAME (epoch ${TESSERA_EPOCH:-?})"
