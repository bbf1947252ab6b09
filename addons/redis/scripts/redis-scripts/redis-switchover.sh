#!/bin/sh
# Planned switchover, run on the primary. Writes pause here while the
# replicas catch up and Sentinel promotes one of them; this instance then
# follows the new primary before writes resume, so the paused writes are
# refused (READONLY) instead of being acknowledged here and lost.
set -u
. /scripts/common.sh
self=$TESSERA_POD_IP
if [ -z "${SENTINEL_POD_FQDNS:-}" ]; then
  log switchover "no Sentinels: nothing can promote a replica"
  exit 1
fi
if [ "$(rcli "$self" ROLE | head -n 1)" != "master" ]; then
  log switchover "$TESSERA_POD_NAME is no longer the primary"
  exit 0
fi
# The pause outlasts every wait below; it is lifted on exit whatever happens.
rcli "$self" CLIENT PAUSE 45000 WRITE >/dev/null || exit 1
trap 'rcli "$self" CLIENT UNPAUSE >/dev/null 2>&1' EXIT

# Replicas receive everything acknowledged so far (bounded: Sentinel prefers
# the most advanced replica anyway).
deadline=$(($(date +%s) + 10))
while :; do
  info=$(rcli "$self" INFO replication | tr -d '\r')
  offset=$(printf '%s\n' "$info" | sed -n 's/^master_repl_offset://p')
  behind=$(printf '%s\n' "$info" | sed -n 's/^slave[0-9]*:.*offset=\([0-9]*\).*/\1/p' | awk -v o="$offset" '$1 < o' | wc -l)
  [ "$behind" -eq 0 ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log switchover "$behind replica(s) still behind offset $offset; failing over anyway"
    break
  fi
  sleep 0.1
done

requested=""
for sentinel in $(echo "$SENTINEL_POD_FQDNS" | tr ',' ' '); do
  reply=$(scli "$sentinel" SENTINEL FAILOVER "$MASTER_NAME" 2>&1) && requested=1 && break
  log switchover "Sentinel $sentinel: $reply"
  case "$reply" in *INPROG*) requested=1 && break ;; esac
done
[ -n "$requested" ] || exit 1
deadline=$(($(date +%s) + 30))
while :; do
  named=$(sentinel_primary "$SENTINEL_POD_FQDNS") || named=""
  [ -n "$named" ] && [ "$named" != "$TESSERA_POD_FQDN" ] && break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log switchover "Sentinel did not promote a replica in time"
    exit 1
  fi
  sleep 0.2
done
log switchover "Sentinel promoted $named; $TESSERA_POD_NAME follows it"
rcli "$self" REPLICAOF "$named" 6379 >/dev/null
