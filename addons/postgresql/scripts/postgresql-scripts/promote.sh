#!/bin/sh
# Promotes this standby (idempotent) in one session with giving every other
# member a replication slot here and dropping slots that stand for no member.
# The slots come first: members pointed here find theirs the moment it is
# writable.
set -e
. /scripts/common.sh
log promote "promoting $TESSERA_POD_NAME (epoch ${TESSERA_EPOCH:-?})"
promoted=$({
  member_slots_sql
  sync_slots_sql
  echo "select pg_promote(true, 60) where pg_is_in_recovery();"
} | psql_members)
[ "$promoted" != "f" ]
