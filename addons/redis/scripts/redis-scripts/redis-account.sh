#!/bin/sh
# Creates or updates a system account's ACL user on this instance (ACLs are
# per instance: this runs on every one) and saves the ACL file. The
# definition's statement carries the ACL rules; the password goes through
# stdin, never the command line.
set -eu
set -f # rules such as ~* must reach Redis unexpanded
. /scripts/common.sh
# The statement is word-split on purpose: it is a list of ACL rules.
printf '>%s' "$TESSERA_ACCOUNT_PASSWORD" |
  rcli "$TESSERA_POD_IP" -x ACL SETUSER "$TESSERA_ACCOUNT_NAME" reset on ${TESSERA_ACCOUNT_STATEMENT:-} >/dev/null
rcli "$TESSERA_POD_IP" ACL SAVE >/dev/null
