#!/bin/sh
# Promotes this standby (idempotent), then gives every other member a
# replication slot here so they can stream from the new primary, and drops
# slots that stand for no member.
set -e
. /scripts/common.sh
if [ "$(psql_local -c 'select pg_is_in_recovery()')" = "t" ]; then
  log promote "promoting $TESSERA_POD_NAME (epoch ${TESSERA_EPOCH:-?})"
  [ "$(psql_local -c 'select pg_promote(true, 60)')" = "t" ]
fi
sync_slots
