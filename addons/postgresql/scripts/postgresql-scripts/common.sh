# Shared by every PostgreSQL script. Sourced, never executed.
# Environment contract: TESSERA_* from the operator, POSTGRES_PASSWORD,
# REPLICATION_PASSWORD and PG_RW_SERVICE from the ComponentDefinition's vars.

PGDATA=/data/pgdata
export PGDATA
# Marker on the volume: this instance stepped down and must rejoin as a standby before serving again.
REJOIN_MARKER=/data/tessera-rejoin
PASSFILE=/data/.pgpass
# Where this instance replicates from (primary_conninfo), included by postgresql.conf so that
# follow and detach can change it with a reload. Kept on the volume: a restarted standby keeps
# its upstream, and a detached one stays detached until it is told whom to follow.
UPSTREAM_CONF=/data/tessera-upstream.conf
# Recovery settings of a point-in-time restore, included by postgresql.conf until recovery ends.
RECOVERY_CONF=/data/tessera-recovery.conf
# Left by restore.sh: the data came from a backup and still has the source cluster's passwords.
RESTORED_MARKER=/data/tessera-restored

log() {
  echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) tessera[$1]: $2" >&2
}

# psql as the superuser over the instance's own socket (trusted, sandbox-local).
psql_local() {
  psql -X -q -A -t -v ON_ERROR_STOP=1 -h /tmp -p 5432 -U postgres -d postgres "$@"
}

# psql as the superuser against another host (password authentication).
psql_remote() {
  host=$1
  shift
  PGPASSWORD=$POSTGRES_PASSWORD PGCONNECT_TIMEOUT=3 psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$host" -p 5432 -U postgres -d postgres "$@"
}

# True when host answers and is a primary (not in recovery).
is_primary_at() {
  [ "$(psql_remote "$1" -c 'select pg_is_in_recovery()' 2>/dev/null)" = "f" ]
}

local_running() {
  pg_isready -q -h /tmp -p 5432 -U postgres
}

slot_name() {
  echo "tessera_$1" | tr -- '-.' '__'
}

# SQL creating the physical slots named in the psql variable "slots"
# (comma-separated) that do not exist yet. A clone and a memberJoin may create
# the same slot at once, so one that exists already is not an error.
ensure_slots_sql() {
  cat <<'SQL'
select set_config('tessera.slots', :'slots', false) \g /dev/null
do $$
declare
  wanted text;
begin
  foreach wanted in array string_to_array(current_setting('tessera.slots'), ',') loop
    begin
      perform pg_create_physical_replication_slot(wanted);
    exception when duplicate_object then
      null;
    end;
  end loop;
end
$$;
SQL
}

# SQL setting the psql variable "slots" to the slots the local instance should
# hold, comma-separated: one per member but itself. psql variables: "members"
# (the members, comma-separated), "self" (this instance). Computed by the
# server, not by forking a tool per member: failover waits on these scripts.
member_slots_sql() {
  cat <<'SQL'
select coalesce(string_agg('tessera_' || translate(m, '-.', '__'), ','), '') as slots
from unnest(string_to_array(:'members', ',')) m where m <> '' and m <> :'self' \gset
SQL
}

# psql_local for the member_slots_sql variables; an argument names a further
# instance whose slot is kept.
psql_members() {
  psql_local -v members="$TESSERA_POD_NAME_LIST${1:+,$1}" -v self="$TESSERA_POD_NAME"
}

# SQL making the local slots those named in the psql variable "slots": none
# for instances that left or for this one (e.g. kept from an earlier term),
# since an unused slot pins WAL until the disk fills. A slot in use is never
# dropped.
sync_slots_sql() {
  ensure_slots_sql
  cat <<'SQL'
select pg_drop_replication_slot(slot_name) from pg_replication_slots
where slot_type = 'physical' and not active and slot_name like 'tessera\_%'
  and slot_name <> all (string_to_array(:'slots', ',')) \g /dev/null
SQL
}

# Makes the local primary's slots follow the membership, in one session.
# An argument names a further instance whose slot is kept.
sync_slots() {
  { member_slots_sql; sync_slots_sql; } | psql_members "$@" >/dev/null
}

# "<role> <position>": position is the WAL byte offset this instance has
# (primary: written; standby: received and flushed), so failover can pick the
# most advanced standby.
ROLE_SQL="select case when pg_is_in_recovery()
  then 'secondary ' || coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0'), pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0'), 0)::bigint
  else 'primary ' || pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint end"

write_passfile() {
  umask 077
  {
    printf '*:*:*:replicator:%s\n' "$REPLICATION_PASSWORD"
    printf '*:*:*:postgres:%s\n' "$POSTGRES_PASSWORD"
  } >"$PASSFILE"
}

# Points this instance's replication at host ("" replicates from no one), atomically.
write_upstream() {
  conninfo=""
  [ -n "$1" ] && conninfo="host=$1 port=5432 user=replicator passfile=$PASSFILE application_name=$TESSERA_POD_NAME"
  printf "primary_conninfo = '%s'\n" "$conninfo" >"$UPSTREAM_CONF.tmp"
  mv "$UPSTREAM_CONF.tmp" "$UPSTREAM_CONF"
}
