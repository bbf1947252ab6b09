#!/bin/sh
# Custom operation vacuum-analyze: VACUUM (ANALYZE) of one database, or of one
# table in it, on the primary. The names come as variables and never become
# part of a command or of SQL text: the database through PGDATABASE (libpq
# takes it as a name, never as a connection string), the table as a psql
# variable cast to regclass, which refuses an unknown table and quotes it.
set -e
PGDATABASE=$TESSERA_PARAM_DATABASE
export PGDATABASE
if [ -n "$TESSERA_PARAM_TABLE" ]; then
  psql -X -q -A -t -v ON_ERROR_STOP=1 -h /tmp -p 5432 -U postgres -v table="$TESSERA_PARAM_TABLE" <<'SQL'
select format('VACUUM (ANALYZE) %s', :'table'::regclass) \gexec
SQL
  echo "vacuumed and analyzed table $TESSERA_PARAM_TABLE of database $PGDATABASE"
else
  psql -X -q -A -t -v ON_ERROR_STOP=1 -h /tmp -p 5432 -U postgres -c 'VACUUM (ANALYZE)'
  echo "vacuumed and analyzed database $PGDATABASE"
fi
