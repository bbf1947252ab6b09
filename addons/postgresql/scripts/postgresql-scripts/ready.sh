#!/bin/sh
# Readiness probe: the server accepts connections on its local socket.
# Kubernetes probes at most once a second. A server that is still starting is
# asked again every 0.1 s for up to 0.8 s, so the instance turns ready (and
# joins its services) within about 0.1 s of accepting connections instead of
# up to a second later. A running server answers on the first try.
. /scripts/common.sh

tries=8
until local_running; do
  tries=$((tries - 1))
  [ "$tries" -gt 0 ] || exit 1
  sleep 0.1
done
