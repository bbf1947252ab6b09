#!/bin/sh
# Removes the leaving instance from the cluster before it is deleted, so the
# quorum shrinks with the membership. An absent member is already gone.
set -e
. /scripts/common.sh
members=$(ctl member list)
id=$(member_id "$members" "$TESSERA_LEAVE_MEMBER_POD_NAME" "http://$TESSERA_LEAVE_MEMBER_POD_FQDN:2380")
[ -n "$id" ] || exit 0
log leave "removing member $TESSERA_LEAVE_MEMBER_POD_NAME ($id)"
ctl member remove "$id" >/dev/null
