#!/bin/sh
# Restore of method "basebackup" (init container of a new instance): unpacks the base backup
# fetched into TESSERA_RESTORE_DIR as this instance's data directory. With a point in time,
# archive recovery replays the archived WAL fetched next to it up to that moment, then promotes.
set -eu
. /scripts/common.sh
dir=$TESSERA_RESTORE_DIR
# Nothing fetched: an instance that copies from the restored one, or one restored already.
[ -f "$dir/backup" ] || exit 0
if [ -s "$PGDATA/PG_VERSION" ]; then
  rm -rf "$dir"
  exit 0
fi
log restore "unpacking the base backup of ${TESSERA_RESTORE_BACKUP:-a backup}"
rm -rf "$PGDATA" "$UPSTREAM_CONF" "$REJOIN_MARKER"
mkdir -p "$PGDATA"
chmod 0700 "$PGDATA"
tar -x -f "$dir/backup" -C "$PGDATA"
rm -f "$dir/backup" "$PGDATA/standby.signal" "$PGDATA/recovery.signal" "$PGDATA/postmaster.pid"
rm -rf "${PGDATA:?}"/pg_replslot/*
if [ -n "${TESSERA_RESTORE_TIME:-}" ]; then
  # The server reads the target before it knows time zone abbreviations: "Z" must be an offset.
  target=$(echo "$TESSERA_RESTORE_TIME" | sed -e 's/T/ /' -e 's/Z$/+00/')
  log restore "recovering to $TESSERA_RESTORE_TIME with $(ls "$dir/logs" | wc -l) archived WAL file(s)"
  cat >"$RECOVERY_CONF" <<CONF
restore_command = 'cp "$dir/logs/%f" "%p"'
recovery_target_time = '$target'
recovery_target_action = 'promote'
recovery_end_command = 'rm -rf "$dir" "$RECOVERY_CONF"'
CONF
  touch "$PGDATA/recovery.signal"
else
  rm -rf "$dir"
fi
# The data holds the source cluster's passwords: start.sh sets this cluster's once it is primary.
touch "$RESTORED_MARKER"
