#!/bin/sh
# Runs on the primary: the joining instance gets its replication slot (and
# every other member's slot is checked too).
set -e
. /scripts/common.sh
sync_slots "$TESSERA_JOIN_MEMBER_POD_NAME"
