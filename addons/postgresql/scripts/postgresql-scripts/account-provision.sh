#!/bin/sh
# Creates (or re-passwords) a login role for a system account; the
# definition's statement adds its privileges.
set -e
. /scripts/common.sh
psql_local -v name="$TESSERA_ACCOUNT_NAME" -v pw="$TESSERA_ACCOUNT_PASSWORD" -v stmt="${TESSERA_ACCOUNT_STATEMENT:-}" >/dev/null <<'SQL'
select format('CREATE ROLE %I LOGIN', :'name') where not exists (select 1 from pg_roles where rolname = :'name') \gexec
select format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'name', :'pw') \gexec
select :'stmt' where :'stmt' <> '' \gexec
SQL
