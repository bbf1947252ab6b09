# Shared by the Redis and Sentinel scripts. Sourced, never executed.
# Environment contract: TESSERA_* from the operator; from the
# ComponentDefinitions' vars: REDISCLI_AUTH (the Redis `default` password,
# Redis side), SENTINEL_PASSWORD, SENTINEL_REDIS_PASSWORD and, on the Redis
# side, SENTINEL_POD_FQDNS (empty without Sentinels).

# Sentinels monitor the cluster's primary under the cluster's name.
MASTER_NAME=$TESSERA_CLUSTER_NAME

log() {
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) tessera[$1]: $2" >&2
}

# redis-cli against a Redis instance as the `default` user. Every remote call
# is bounded: a frozen peer must not hang a script. -e: error replies fail.
rcli() {
  rcli_host=$1
  shift
  timeout 3 redis-cli -h "$rcli_host" -p 6379 --no-auth-warning -e "$@"
}

# redis-cli against a Sentinel.
scli() {
  scli_host=$1
  shift
  REDISCLI_AUTH=$SENTINEL_PASSWORD timeout 3 redis-cli -h "$scli_host" -p 26379 --no-auth-warning -e "$@"
}

# A field of INFO output given on stdin (INFO lines end in CRLF).
info_field() {
  tr -d '\r' | sed -n "s/^$1://p"
}

# Prints the host of the primary the Sentinels in the comma-separated list
# $1 name (the first Sentinel that knows one answers); prints nothing when
# they answer but know no primary, and fails when none answers at all.
sentinel_primary() {
  sp_status=1
  for sp_sentinel in $(echo "$1" | tr ',' ' '); do
    sp_addr=$(scli "$sp_sentinel" SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null) || continue
    sp_status=0
    sp_host=$(echo "$sp_addr" | head -n 1)
    if [ -n "$sp_host" ]; then
      echo "$sp_host"
      return 0
    fi
  done
  return $sp_status
}

# Makes Sentinel $1 monitor primary $2 with quorum $3 (idempotent), with the
# credentials and timings Tessera uses. Passwords go through stdin (-x).
sentinel_monitor() {
  sm_known=$(scli "$1" SENTINEL get-master-addr-by-name "$MASTER_NAME") || return 1
  if [ -z "$(echo "$sm_known" | head -n 1)" ]; then
    log monitor "Sentinel $1 starts monitoring $2"
    scli "$1" SENTINEL MONITOR "$MASTER_NAME" "$2" 6379 "$3" >/dev/null || return 1
  fi
  scli "$1" SENTINEL SET "$MASTER_NAME" auth-user sentinel down-after-milliseconds 5000 \
    failover-timeout 30000 parallel-syncs 1 quorum "$3" >/dev/null || return 1
  printf '%s' "$SENTINEL_REDIS_PASSWORD" | scli "$1" -x SENTINEL SET "$MASTER_NAME" auth-pass >/dev/null
}

# A field of `SENTINEL MASTER` (alternating name and value lines) from Sentinel $1.
sentinel_field() {
  scli "$1" SENTINEL MASTER "$MASTER_NAME" 2>/dev/null | awk -v name="$2" 'previous == name { print; exit } { previous = $0 }'
}
