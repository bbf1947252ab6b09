#!/bin/sh
# Readiness probe: the server accepts connections on its local socket.
# The probe runs every 2 s (its period). A server that is still starting is
# asked again every 0.1 s for up to 1.8 s, so the instance turns ready (and
# joins its services) within about 0.1 s of accepting connections instead
# of up to a period later: a restored or cloned instance's server starts
# about a second after its container. A running server answers on the
# first try. While an instance waits for a primary to clone from (it has neither a
# data directory nor a clone under way) no server is near, and the probe
# fails at once instead of spending its retries. Until the postmaster
# records that it accepts connections, the wait reads its lock file instead
# of running pg_isready (a client start-up each time).
. /scripts/common.sh

# Line 8 of postmaster.pid is the postmaster's status; "ready" once it accepts connections.
postmaster_says_ready() {
  [ -r "$PGDATA/postmaster.pid" ] || return 1
  line=0
  while IFS= read -r field; do
    line=$((line + 1))
    if [ "$line" -eq 8 ]; then
      case "$field" in ready*) return 0 ;; *) return 1 ;; esac
    fi
  done <"$PGDATA/postmaster.pid"
  return 1
}

tries=18
until postmaster_says_ready && local_running; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || exit 1
  [ -f "$PGDATA/PG_VERSION" ] || [ -d "$PGDATA.clone" ] || exit 1
  sleep 0.1
done
