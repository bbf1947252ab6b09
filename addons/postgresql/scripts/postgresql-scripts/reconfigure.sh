#!/bin/sh
# Applies changed dynamic parameters without a restart. TESSERA_CONFIG_PARAMETERS
# is a JSON object; an empty value resets the parameter to the config file's.
set -e
. /scripts/common.sh
psql_local -v params="${TESSERA_CONFIG_PARAMETERS:-{\}}" >/dev/null <<'SQL'
select format(case when value = '' then 'ALTER SYSTEM RESET %I' else 'ALTER SYSTEM SET %I = %L' end, key, value)
from json_each_text(:'params') \gexec
select pg_reload_conf();
SQL
