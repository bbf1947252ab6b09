#!/bin/sh
# Runs on the leader before it is restarted or removed: hands leadership to
# the candidate (or, without one, to any other started member).
set -e
. /scripts/common.sh
status=$(ctl endpoint status -w fields)
if [ "$(status_field "$status" MemberID)" != "$(status_field "$status" Leader)" ]; then
  log switchover "$TESSERA_POD_NAME no longer leads; nothing to move"
  exit 0
fi
members=$(ctl member list)
target=$(member_id "$members" "${TESSERA_CANDIDATE_POD_NAME:-}" "")
if [ -z "$target" ]; then
  target=$(printf '%s\n' "$members" | awk -F', ' -v self="$TESSERA_POD_NAME" '$2 == "started" && $3 != self { print $1; exit }')
fi
if [ -z "$target" ]; then
  log switchover "no other started member can lead"
  exit 1
fi
log switchover "moving leadership from $TESSERA_POD_NAME to member $target"
ctl move-leader "$target" >/dev/null
