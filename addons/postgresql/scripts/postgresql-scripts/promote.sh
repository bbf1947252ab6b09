#!/bin/sh
# Promotes this standby (idempotent) in one session with giving every other
# member a replication slot here and dropping slots that stand for no member.
# The slots come first: members pointed here find theirs the moment it is
# writable. The end of recovery is watched closely (pg_promote's own wait
# looks every 100 ms): clients wait for it.
set -e
. /scripts/common.sh
log promote "promoting $TESSERA_POD_NAME (epoch ${TESSERA_EPOCH:-?})"
{
  member_slots_sql
  sync_slots_sql
  cat <<'SQL'
select pg_promote(false) where pg_is_in_recovery() \g /dev/null
do $$
declare
  deadline timestamptz := clock_timestamp() + interval '60 s';
begin
  while pg_is_in_recovery() loop
    if clock_timestamp() > deadline then
      raise exception 'still in recovery 60 s after the promotion was asked for';
    end if;
    perform pg_sleep(0.01);
  end loop;
end
$$;
SQL
} | psql_members >/dev/null
