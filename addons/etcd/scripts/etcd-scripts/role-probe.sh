#!/bin/sh
# Prints "<role> <raft index>": leader when this member leads the cluster,
# follower otherwise (also while there is no leader at all).
set -e
. /scripts/common.sh
status=$(ctl --command-timeout=2s endpoint status -w fields)
index=$(status_field "$status" RaftIndex)
if [ "$(status_field "$status" MemberID)" = "$(status_field "$status" Leader)" ]; then
  echo "leader $index"
else
  echo "follower $index"
fi
