#!/bin/sh
# Runs on the primary: the leaving instance's slot is dropped so it stops retaining WAL.
set -e
. /scripts/common.sh
psql_local -v slot="$(slot_name "$TESSERA_LEAVE_MEMBER_POD_NAME")" >/dev/null <<'SQL'
select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = :'slot' and active_pid is not null;
select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = :'slot' and not active;
SQL
