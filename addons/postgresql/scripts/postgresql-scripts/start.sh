#!/bin/sh
# Entrypoint of a PostgreSQL instance. It stays up as a small supervisor so
# an instance can step down (switchover, demote) and come back as a standby
# without the container restarting:
#   empty volume      -> clone from the primary (or initdb on the very first instance)
#   rejoin marker     -> pg_rewind against the current primary, then standby
#   otherwise         -> start with the role the data directory has
set -u
. /scripts/common.sh

stopping=""
postgres_pid=""
on_term() {
  stopping=1
  if [ -n "$postgres_pid" ]; then
    pg_ctl -D "$PGDATA" stop -m fast -w -t 50 >/dev/null 2>&1 || kill -TERM "$postgres_pid" 2>/dev/null
  fi
  exit 0
}
trap on_term TERM INT

ordinal=${TESSERA_POD_NAME##*-}

# Whether any other instance already holds a data directory (then this one must never initdb).
peer_has_data() {
  for fqdn in $(echo "$TESSERA_POD_FQDN_LIST" | tr ',' ' '); do
    [ "$fqdn" = "$TESSERA_POD_FQDN" ] && continue
    pg_isready -q -h "$fqdn" -p 5432 -U postgres -t 2 && return 0
  done
  return 1
}

init_cluster() {
  log init "initialising a new database cluster"
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null || exit 1
  rm -f "$pwfile"
  # Single-user mode creates the replication role without starting a server.
  escaped=$(printf '%s' "$REPLICATION_PASSWORD" | sed "s/'/''/g")
  echo "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '$escaped';" |
    postgres --single -D "$PGDATA" -j postgres >/dev/null || exit 1
}

clone_from_primary() {
  slot=$(slot_name "$TESSERA_POD_NAME")
  log clone "cloning from the primary at $PG_RW_SERVICE"
  ensure_slots_sql | psql_remote "$PG_RW_SERVICE" -v slots="$slot" >/dev/null || return 1
  rm -rf "${PGDATA:?}"/* "$PGDATA".clone
  # One syncfs for the whole copy costs far less than pg_basebackup's fsync
  # of every file; the copy only replaces the data directory once it is durable.
  PGPASSFILE=$PASSFILE pg_basebackup -h "$PG_RW_SERVICE" -p 5432 -U replicator -D "$PGDATA".clone \
    -X stream -S "$slot" --checkpoint=fast --no-sync >/dev/null &&
    touch "$PGDATA".clone/standby.signal &&
    write_upstream "$PG_RW_SERVICE" &&
    sync -f "$PGDATA".clone || { rm -rf "$PGDATA".clone; return 1; }
  rm -rf "$PGDATA"
  mv "$PGDATA".clone "$PGDATA"
}

bootstrap() {
  [ -s "$PGDATA/PG_VERSION" ] && return 0
  waiting=""
  while :; do
    if is_primary_at "$PG_RW_SERVICE"; then
      clone_from_primary && return 0
    elif [ "$ordinal" = "0" ] && ! peer_has_data; then
      init_cluster
      return 0
    elif [ -z "$waiting" ]; then
      log bootstrap "waiting for a primary at $PG_RW_SERVICE"
      waiting=1
    fi
    # A refused connection costs little; a short period lets clones start as soon as the primary is routed.
    sleep 0.2
  done
}

# Makes this data directory a standby of the current primary: pg_rewind
# when the histories diverged, a fresh clone when even that is impossible.
rejoin() {
  until is_primary_at "$PG_RW_SERVICE"; do
    log rejoin "waiting for a primary at $PG_RW_SERVICE"
    sleep 1
  done
  # A fresh checkpoint makes a just-promoted primary's control file show its new
  # timeline; without it pg_rewind would see no divergence.
  psql_remote "$PG_RW_SERVICE" -c 'checkpoint' >/dev/null 2>&1 || true
  log rejoin "rewinding to follow the primary at $PG_RW_SERVICE"
  if ! PGPASSFILE=$PASSFILE pg_rewind -D "$PGDATA" \
    --source-server="host=$PG_RW_SERVICE port=5432 user=postgres dbname=postgres connect_timeout=5" >&2; then
    log rejoin "pg_rewind failed; cloning afresh"
    clone_from_primary || return 1
  fi
  touch "$PGDATA/standby.signal"
  write_upstream "$PG_RW_SERVICE"
  rm -f "$REJOIN_MARKER"
}

# A hot standby refuses to run with some settings below the primary's (the
# primary's values are in the control file). Never start below them: a
# lowered value takes effect on standbys once the primary runs with it.
standby_floor_args() {
  [ -f "$PGDATA/standby.signal" ] || return 0
  pg_controldata -D "$PGDATA" | while IFS=: read -r field value; do
    case "$field" in
      "max_connections setting") name=max_connections ;;
      "max_worker_processes setting") name=max_worker_processes ;;
      "max_wal_senders setting") name=max_wal_senders ;;
      "max_prepared_xacts setting") name=max_prepared_transactions ;;
      "max_locks_per_xact setting") name=max_locks_per_transaction ;;
      *) continue ;;
    esac
    primary_value=$(echo "$value" | tr -d ' ')
    configured=$(postgres -D "$PGDATA" -c config_file=/etc/postgresql/postgresql.conf -C "$name" 2>/dev/null)
    if [ -n "$configured" ] && [ "$primary_value" -gt "$configured" ]; then
      printf -- '-c %s=%s\n' "$name" "$primary_value"
    fi
  done
}

# A restored data directory holds the source cluster's passwords: once this instance is the
# primary (after recovery), the system accounts get this cluster's.
adopt_passwords() {
  until [ "$(psql_local -c 'select pg_is_in_recovery()' 2>/dev/null)" = "f" ]; do
    [ -n "$stopping" ] && return
    sleep 1
  done
  # Local commit: no standby can connect (and confirm) before the passwords change.
  psql_local -v pg="$POSTGRES_PASSWORD" -v repl="$REPLICATION_PASSWORD" >/dev/null <<'SQL' &&
set synchronous_commit = local;
select format('ALTER ROLE postgres WITH PASSWORD %L', :'pg') \gexec
select format('ALTER ROLE replicator WITH PASSWORD %L', :'repl') \gexec
SQL
    rm -f "$RESTORED_MARKER" && log restore "system account passwords set for this cluster"
}

mkdir -p "$PGDATA"
chmod 0700 "$PGDATA"
write_passfile
standby_failures=0

while :; do
  bootstrap
  if [ ! -f "$PGDATA/standby.signal" ] && [ ! -f "$REJOIN_MARKER" ] && is_primary_at "$PG_RW_SERVICE"; then
    # Another instance became primary while this one was down: never serve as a second primary.
    log start "another primary is serving; rejoining as a standby"
    touch "$REJOIN_MARKER"
  fi
  if [ -f "$REJOIN_MARKER" ]; then
    rejoin || { sleep 2; continue; }
  fi
  if [ -f "$PGDATA/standby.signal" ]; then
    # A standby serves no replication; slots kept from a term as primary
    # (a clean step-down needs no rewind) would pin WAL here for good.
    rm -rf "${PGDATA:?}"/pg_replslot/*
  fi
  [ -f "$UPSTREAM_CONF" ] || write_upstream "$PG_RW_SERVICE"
  slot=$(slot_name "$TESSERA_POD_NAME")
  [ -f "$RESTORED_MARKER" ] && adopt_passwords &
  postgres -D "$PGDATA" -c config_file=/etc/postgresql/postgresql.conf \
    -c listen_addresses="$TESSERA_POD_IP" \
    -c primary_slot_name="$slot" $(standby_floor_args) &
  postgres_pid=$!
  wait "$postgres_pid"
  status=$?
  postgres_pid=""
  [ -n "$stopping" ] && exit 0
  if [ -f "$REJOIN_MARKER" ]; then
    log start "stepped down; rejoining as a standby"
    continue
  fi
  if [ -f "$PGDATA/standby.signal" ] && is_primary_at "$PG_RW_SERVICE"; then
    # A standby that cannot follow the primary (e.g. its history diverged):
    # rewind first; if it fails again, its copy is disposable and is recloned.
    standby_failures=$((standby_failures + 1))
    if [ "$standby_failures" -ge 2 ]; then
      log start "standby still cannot follow the primary; recloning"
      clone_from_primary || sleep 2
      standby_failures=0
    else
      log start "standby exited with status $status; rewinding"
      touch "$REJOIN_MARKER"
    fi
    continue
  fi
  log start "postgres exited with status $status"
  exit "$status"
done
