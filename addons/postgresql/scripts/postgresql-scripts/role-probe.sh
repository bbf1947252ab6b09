#!/bin/sh
# Prints "<role> <position>": position is the WAL byte offset this instance
# has (primary: written; standby: received and flushed), so failover can
# pick the most advanced standby.
. /scripts/common.sh
psql_local -c "select case when pg_is_in_recovery()
  then 'secondary ' || coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0'), pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0'), 0)::bigint
  else 'primary ' || pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint end"
