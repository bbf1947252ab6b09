#!/bin/sh
# Custom operation defrag: defragments this member's backend database, giving
# the space freed by compaction back to the file system. The member does not
# answer meanwhile, so the operation runs on one member after another.
set -e
. /scripts/common.sh
etcdctl --endpoints="$LOCAL_ENDPOINT" --dial-timeout=2s --command-timeout=110s defrag
