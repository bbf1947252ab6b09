#!/bin/sh
# Entrypoint of a Redis instance. It settles the instance's role before Redis
# starts, from what the Sentinels say:
#   they name another instance -> replicate it
#   they name this instance    -> this primary restarted (its replicas may have
#                                 moved on): Sentinel fails over to the most
#                                 up-to-date replica and this instance
#                                 replicates the new primary; when no replica
#                                 can take over, it stays primary
#   they know no primary       -> replicate an instance that reports itself
#   (new cluster, standalone)     primary; without one, the first instance is
#                                 the primary
set -u
. /scripts/common.sh
umask 077

first=$(echo "$TESSERA_POD_FQDN_LIST" | cut -d, -f1)

# An other instance that reports itself primary, if any.
peer_primary() {
  for peer in $(echo "$TESSERA_POD_FQDN_LIST" | tr ',' ' '); do
    [ "$peer" = "$TESSERA_POD_FQDN" ] && continue
    if [ "$(rcli "$peer" ROLE 2>/dev/null | head -n 1)" = "master" ]; then
      echo "$peer"
      return 0
    fi
  done
  return 1
}

# Asks Sentinel to promote a replica and prints the new primary once the
# Sentinels name it; fails when no replica can take over.
hand_over() {
  requested=""
  for sentinel in $(echo "$SENTINEL_POD_FQDNS" | tr ',' ' '); do
    reply=$(scli "$sentinel" SENTINEL FAILOVER "$MASTER_NAME" 2>&1) && requested=1 && break
    log start "Sentinel $sentinel: $reply"
    # NOGOODSLAVE from one Sentinel: another may know a replica it does not.
    case "$reply" in *INPROG*) requested=1 && break ;; esac
  done
  [ -n "$requested" ] || return 1
  # Sentinel gives up a failover after its failover-timeout (30 s).
  deadline=$(($(date +%s) + 40))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    named=$(sentinel_primary "$SENTINEL_POD_FQDNS") || named=""
    if [ -n "$named" ] && [ "$named" != "$TESSERA_POD_FQDN" ]; then
      echo "$named"
      return 0
    fi
    sleep 0.5
  done
  return 1
}

sha() {
  printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# The ACL file: the users of the primary this instance follows (ACLs are per
# instance, and accounts may have been provisioned after it was created),
# else its own, with the system accounts rewritten from their Secrets.
write_acl() {
  acl=/data/users.acl
  if [ -n "$1" ] && users=$(rcli "$1" ACL LIST 2>/dev/null); then
    printf '%s\n' "$users" >"$acl.copy"
  elif [ -f "$acl" ]; then
    cp "$acl" "$acl.copy"
  else
    : >"$acl.copy"
  fi
  {
    grep -v -e '^user default ' -e '^user replicator ' -e '^user sentinel ' "$acl.copy"
    echo "user default on #$(sha "$REDISCLI_AUTH") ~* &* +@all"
    echo "user replicator on #$(sha "$REDIS_REPLICATION_PASSWORD") +psync +replconf +ping"
    if [ -n "${SENTINEL_REDIS_PASSWORD:-}" ]; then
      echo "user sentinel on #$(sha "$SENTINEL_REDIS_PASSWORD") allchannels +multi +slaveof +ping +exec" \
        "+subscribe +config|rewrite +role +publish +info +client|setname +client|kill +script|kill"
    fi
  } >"$acl.new"
  mv "$acl.new" "$acl"
  rm -f "$acl.copy"
}

upstream=""
if [ -n "${SENTINEL_POD_FQDNS:-}" ] && named=$(sentinel_primary "$SENTINEL_POD_FQDNS") && [ -n "$named" ]; then
  if [ "$named" = "$TESSERA_POD_FQDN" ]; then
    log start "this instance was the primary; asking Sentinel to promote a replica first"
    if upstream=$(hand_over); then
      log start "Sentinel promoted $upstream"
    else
      log start "no replica can take over: starting as the primary"
      upstream=""
    fi
  else
    upstream=$named
  fi
elif peer=$(peer_primary); then
  upstream=$peer
elif [ "$TESSERA_POD_FQDN" != "$first" ]; then
  upstream=$first
fi

write_acl "$upstream"
{
  echo "include /etc/redis/redis.conf"
  echo "bind $TESSERA_POD_IP"
  # Replicas are announced (to the primary and so to the Sentinels) by pod FQDN, which outlives pod IPs.
  echo "replica-announce-ip $TESSERA_POD_FQDN"
  echo "masteruser replicator"
  echo "masterauth $REDIS_REPLICATION_PASSWORD"
  if [ -n "$upstream" ]; then echo "replicaof $upstream 6379"; fi
} >/tmp/redis.conf
log start "starting as ${upstream:+a replica of }${upstream:-the primary}"
exec redis-server /tmp/redis.conf
