#!/bin/sh
# Ready when this member serves linearizable reads (it belongs to a quorum with a leader).
. /scripts/common.sh
ctl --command-timeout=2s endpoint health >/dev/null 2>&1
