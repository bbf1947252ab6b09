#!/bin/sh
# Prints "<role> <position>" (see ROLE_SQL).
. /scripts/common.sh
psql_local -c "$ROLE_SQL"
