#!/bin/sh
# Backup method "basebackup" (runs in a backup pod, not in the instance): writes a base backup
# of the instance at TESSERA_BACKUP_TARGET_POD_FQDN to stdout as one tar stream holding the WAL
# it needs to be consistent, and its WAL positions and server version to TESSERA_BACKUP_META.
# Asked for zstd (TESSERA_BACKUP_COMPRESSION), the server compresses on its own threads before
# sending: half the bytes cross the network, and pg_basebackup passes the frames through.
set -eu
. /scripts/common.sh
host=$TESSERA_BACKUP_TARGET_POD_FQDN
# A loaded node can be slow to accept a connection (psql_remote gives up after 3 s): a backup has no
# reason to hurry, so a failed query is tried again, up to 5 times, before the backup fails.
psql_target() {
  tries=1
  until psql_remote "$host" "$@"; do
    [ "$tries" -lt 5 ] || return 1
    log backup "query to $host failed (attempt $tries of 5), trying again"
    tries=$((tries + 1))
    sleep 1
  done
}
POSITION_SQL='case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end'
# One connection for both: "<position> <version>" (the version may hold spaces).
row=$(psql_target -F ' ' -c "select $POSITION_SQL, current_setting('server_version')")
start=${row%% *}
version=${row#* }
log backup "base backup of $host from $start"
case "${TESSERA_BACKUP_COMPRESSION:-}" in
  zstd) compress=--compress=server-zstd:level=1,workers=4 ;;
  "") compress="" ;;
  *) log backup "unknown compression $TESSERA_BACKUP_COMPRESSION" && exit 1 ;;
esac
PGPASSWORD=$REPLICATION_PASSWORD pg_basebackup -h "$host" -p 5432 -U replicator -D - -Ft -X fetch \
  --checkpoint=fast --no-manifest $compress
printf 'startPosition=%s\nendPosition=%s\nengineVersion=%s\n' "$start" "$(psql_target -c "select $POSITION_SQL")" "$version" >"$TESSERA_BACKUP_META"
