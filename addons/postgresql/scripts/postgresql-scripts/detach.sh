#!/bin/sh
# Failover, before a replica is promoted: this standby stops replicating from
# anyone, so the lost primary can get no synchronous acknowledgement from it
# and so can acknowledge no write that the promoted replica might lack.
# Succeeds only once no WAL receiver runs, and then prints the role probe's
# answer: the position it prints is final, and failover need not ask again.
# It also gives every other member a slot here (reserving no WAL until used):
# whichever replica is promoted, the others follow it while it is promoted and
# find their slots there. One session does it all: every step here delays the
# promotion.
set -e
. /scripts/common.sh
write_upstream ""
if ! answer=$(psql_members <<SQL
$(member_slots_sql)
$(ensure_slots_sql)
do \$\$
declare
  deadline timestamptz := clock_timestamp() + interval '10 s';
begin
  if pg_is_in_recovery() then
    perform pg_reload_conf();
    while exists (select from pg_stat_wal_receiver) loop
      if clock_timestamp() > deadline then
        raise exception 'the WAL receiver of % is still running', '$TESSERA_POD_NAME';
      end if;
      perform pg_sleep(0.02);
    end loop;
  end if;
end
\$\$;
$ROLE_SQL;
SQL
); then
  # A stopped standby reads its (empty) upstream when it starts.
  local_running || exit 0
  exit 1
fi
log detach "$TESSERA_POD_NAME replicates from no one (epoch ${TESSERA_EPOCH:-?})"
echo "$answer"
