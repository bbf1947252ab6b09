#!/bin/sh
# The joining instance added itself to the cluster from its entrypoint
# (start.sh); this confirms the cluster counts it as a started member, after
# which Tessera treats it as one (and removes it from the cluster on scale-in).
. /scripts/common.sh
ctl member list | awk -F', ' -v name="$TESSERA_JOIN_MEMBER_POD_NAME" '$2 == "started" && $3 == name { found = 1 } END { exit !found }'
