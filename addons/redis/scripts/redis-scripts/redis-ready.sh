#!/bin/sh
# Ready when Redis answers and, for a replica, its link to the primary is up
# (a replica still syncing would serve an incomplete dataset).
. /scripts/common.sh
info=$(rcli "$TESSERA_POD_IP" INFO replication) || exit 1
case "$(printf '%s\n' "$info" | info_field role)" in
  master) exit 0 ;;
  slave) [ "$(printf '%s\n' "$info" | info_field master_link_status)" = "up" ] ;;
  *) exit 1 ;;
esac
