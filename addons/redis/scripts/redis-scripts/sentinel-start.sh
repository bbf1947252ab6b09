#!/bin/sh
# Entrypoint of a Sentinel. Its configuration file lives on its volume:
# Sentinel rewrites it with what it learns (the primary, the replicas, the
# other Sentinels, the epoch) and needs that after a restart. What it
# monitors is set with commands: the Redis component registers its primary
# with every Sentinel, memberJoin configures a Sentinel added later.
set -u
. /scripts/common.sh
umask 077
CONF=/data/sentinel.conf
if [ ! -s "$CONF" ]; then
  {
    echo "port 26379"
    echo "dir /data"
    # Instances are known by pod FQDN, which outlives pod IPs.
    echo "sentinel resolve-hostnames yes"
    echo "sentinel announce-hostnames yes"
    echo "sentinel announce-ip $TESSERA_POD_FQDN"
    echo "requirepass $SENTINEL_PASSWORD"
    echo "sentinel sentinel-pass $SENTINEL_PASSWORD"
  } >"$CONF"
fi
# A recreated pod has a new IP: the command line overrides the saved bind address.
exec redis-sentinel "$CONF" --bind "$TESSERA_POD_IP"
