#!/bin/sh
# Ready when the Sentinel answers.
. /scripts/common.sh
[ "$(scli "$TESSERA_POD_IP" PING)" = "PONG" ]
