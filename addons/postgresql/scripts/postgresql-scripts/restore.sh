#!/bin/sh
# Restore of method "basebackup" (init container of a new instance): makes the base backup,
# unpacked into TESSERA_RESTORE_DIR/backup as it was fetched, this instance's data directory. With a point in time,
# archive recovery replays the archived WAL fetched next to it up to that moment, then promotes.
set -eu
. /scripts/common.sh
dir=$TESSERA_RESTORE_DIR

# When the last transaction in the fetched WAL ended, in UTC as pg_waldump prints it (empty when
# there is none); fails when some WAL cannot be read through. Every timeline's segments are read
# from its first to its last, so a record that spans two segments is seen too.
last_transaction_end() {
  logs=$1
  found=$dir/transactions
  : >"$found"
  for timeline in $(ls "$logs" | sed -n 's/^\([0-9A-F]\{8\}\)[0-9A-F]\{16\}$/\1/p' | sort -u); do
    segments=$(ls "$logs" | grep "^$timeline[0-9A-F]\{16\}\$" | sort)
    TZ=UTC pg_waldump --path="$logs" --rmgr=Transaction \
      "$(echo "$segments" | head -n 1)" "$(echo "$segments" | tail -n 1)" >>"$found" || return 1
  done
  sed -n -E 's/.* desc: (COMMIT|ABORT)(_PREPARED)? ([0-9]+: )?([0-9-]+ [0-9:.]+) UTC.*/\4/p' "$found" |
    sort | tail -n 1
}
# Nothing fetched: an instance that copies from the restored one, or one restored already.
[ -d "$dir/backup" ] || exit 0
if [ -s "$PGDATA/PG_VERSION" ]; then
  rm -rf "$dir"
  exit 0
fi
log restore "the base backup of ${TESSERA_RESTORE_BACKUP:-a backup} becomes the data directory"
rm -rf "$PGDATA" "$UPSTREAM_CONF" "$REJOIN_MARKER"
# On the same volume: a rename, whatever the size.
mv "$dir/backup" "$PGDATA"
chmod 0700 "$PGDATA"
rm -f "$PGDATA/standby.signal" "$PGDATA/recovery.signal" "$PGDATA/postmaster.pid"
rm -rf "${PGDATA:?}"/pg_replslot/*
if [ -n "${TESSERA_RESTORE_TIME:-}" ]; then
  # The server reads the target before it knows time zone abbreviations: "Z" must be an offset.
  target="recovery_target_time = '$(echo "$TESSERA_RESTORE_TIME" | sed -e 's/T/ /' -e 's/Z$/+00/')'"
  # PostgreSQL knows it reached the moment only by replaying a transaction that ended after it; with
  # none in the WAL it reaches the end first and stops ("recovery ended before configured recovery
  # target was reached"). The moment is in the recoverable range, so WAL was archived past it: when
  # no transaction ended after it, the data at that moment is the data at the end of the archive,
  # which a recovery without a target reaches. WAL that cannot be read keeps the target: recovery
  # then stops where it does, and says so.
  wanted=$(date -u -d "$TESSERA_RESTORE_TIME" '+%Y-%m-%d %H:%M:%S.%6N')
  if last=$(last_transaction_end "$dir/logs"); then
    if [ -z "$last" ] || [ "$(printf '%s\n%s\n' "$last" "$wanted" | sort | tail -n 1)" = "$wanted" ]; then
      log restore "the last transaction in the archived WAL ended at ${last:-no time (there is none)}, not after $TESSERA_RESTORE_TIME: the data then is the data at the end of the archive"
      target=""
    fi
  else
    log restore "pg_waldump could not read the archived WAL through: recovering to $TESSERA_RESTORE_TIME as asked"
  fi
  rm -f "$dir/transactions"
  goal=${target:+$TESSERA_RESTORE_TIME}
  log restore "recovering to ${goal:-the end of the archive} with $(ls "$dir/logs" | wc -l) archived WAL file(s)"
  cat >"$RECOVERY_CONF" <<CONF
restore_command = 'cp "$dir/logs/%f" "%p"'
$target
recovery_target_action = 'promote'
recovery_end_command = 'rm -rf "$dir" "$RECOVERY_CONF"'
CONF
  touch "$PGDATA/recovery.signal"
else
  rm -rf "$dir"
fi
# The data holds the source cluster's passwords: start.sh sets this cluster's once it is primary.
touch "$RESTORED_MARKER"
