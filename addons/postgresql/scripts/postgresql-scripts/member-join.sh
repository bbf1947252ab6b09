#!/bin/sh
# Runs on the primary: the joining instance gets its replication slot.
set -e
. /scripts/common.sh
ensure_slot "$(slot_name "$TESSERA_JOIN_MEMBER_POD_NAME")" >/dev/null
