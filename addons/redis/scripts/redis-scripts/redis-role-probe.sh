#!/bin/sh
# Prints "primary <offset>" or "secondary <offset>" from INFO replication.
# A master the Sentinels do not name (a former primary Sentinel has not
# reconfigured yet) reports secondary, so the primary service never selects
# two instances.
. /scripts/common.sh
info=$(rcli "$TESSERA_POD_IP" INFO replication) || exit 1
field() {
  printf '%s\n' "$info" | info_field "$1"
}
case "$(field role)" in
  master)
    if [ -n "${SENTINEL_POD_FQDNS:-}" ] && named=$(sentinel_primary "$SENTINEL_POD_FQDNS") &&
      [ -n "$named" ] && [ "$named" != "$TESSERA_POD_FQDN" ]; then
      echo "secondary $(field master_repl_offset)"
    else
      echo "primary $(field master_repl_offset)"
    fi
    ;;
  slave) echo "secondary $(field slave_repl_offset)" ;;
  *) exit 1 ;;
esac
