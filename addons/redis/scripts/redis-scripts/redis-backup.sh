#!/bin/sh
# Backup method "rdb" (runs in a backup pod, not in the instance): an RDB
# snapshot of the instance at TESSERA_BACKUP_TARGET_POD_FQDN, transferred the
# way a replica's full sync is (redis-cli --rdb), written to stdout; its Redis
# version goes to TESSERA_BACKUP_META.
set -eu
. /scripts/common.sh
host=$TESSERA_BACKUP_TARGET_POD_FQDN
# A loaded node can be slow to answer (rcli gives up after 3 s): a backup has no reason to hurry,
# so the first question is asked again, up to 5 times, before the backup fails.
tries=1
until info=$(rcli "$host" INFO server); do
  [ "$tries" -lt 5 ] || exit 1
  log backup "INFO from $host failed (attempt $tries of 5), asking again"
  tries=$((tries + 1))
  sleep 1
done
version=$(echo "$info" | info_field redis_version)
# Written to stdout, a diskless transfer (repl-diskless-sync) keeps its 40-byte
# end marker, which redis-cli only cuts off a file: the snapshot goes through a
# file in the backup pod's work directory.
rdb=$(mktemp "$(dirname "$TESSERA_BACKUP_META")/dump.XXXXXX")
trap 'rm -f "$rdb"' EXIT
log backup "RDB snapshot of $host (Redis $version)"
redis-cli -h "$host" -p 6379 --no-auth-warning --rdb "$rdb" >&2
cat "$rdb"
printf 'engineVersion=%s\n' "$version" >"$TESSERA_BACKUP_META"
