#!/bin/sh
# Backup method "basebackup" (runs in a backup pod, not in the instance): writes a base backup
# of the instance at TESSERA_BACKUP_TARGET_POD_FQDN to stdout as one tar stream holding the WAL
# it needs to be consistent, and its WAL positions and server version to TESSERA_BACKUP_META.
set -eu
. /scripts/common.sh
host=$TESSERA_BACKUP_TARGET_POD_FQDN
position() {
  psql_remote "$host" -c 'select case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end'
}
start=$(position)
version=$(psql_remote "$host" -c 'show server_version')
log backup "base backup of $host from $start"
PGPASSWORD=$REPLICATION_PASSWORD pg_basebackup -h "$host" -p 5432 -U replicator -D - -Ft -X fetch \
  --checkpoint=fast --no-manifest
printf 'startPosition=%s\nendPosition=%s\nengineVersion=%s\n' "$start" "$(position)" "$version" >"$TESSERA_BACKUP_META"
