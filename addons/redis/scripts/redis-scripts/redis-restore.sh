#!/bin/sh
# Restore of method "rdb" (init container of the first instance of a new
# cluster, which redis-start.sh makes the primary; the others replicate it):
# the fetched RDB snapshot becomes this instance's data. With appendonly on,
# Redis 7 loads the append-only file and ignores dump.rdb, so the snapshot is
# both dump.rdb and the base of a fresh append-only file (the names
# redis.conf sets): Redis starts from it with either setting.
set -eu
. /scripts/common.sh
dir=$TESSERA_RESTORE_DIR
# Nothing fetched: an instance that replicates the restored one.
[ -f "$dir/backup" ] || exit 0
log restore "loading the RDB snapshot of ${TESSERA_RESTORE_BACKUP:-a backup}"
aof=/data/appendonlydir
rm -rf "$aof.restoring"
mkdir "$aof.restoring"
# Redis replaces both files by renaming new ones over them, never in place: one copy serves both.
ln "$dir/backup" "$aof.restoring/appendonly.aof.1.base.rdb"
printf 'file appendonly.aof.1.base.rdb seq 1 type b\n' >"$aof.restoring/appendonly.aof.manifest"
rm -rf "$aof"
mv "$aof.restoring" "$aof"
mv "$dir/backup" /data/dump.rdb
rm -rf "$dir"
