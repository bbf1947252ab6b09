#!/bin/sh
# Applies changed dynamic parameters with CONFIG SET. TESSERA_CONFIG_PARAMETERS
# is a JSON object; an empty value restores the default the rendered
# configuration gives (the first line for that parameter in redis.conf).
set -eu
. /scripts/common.sh
self=$TESSERA_POD_IP
# Redis's own Lua decodes the JSON into name=value lines.
pairs=$(rcli "$self" EVAL_RO "local out = {} for k, v in pairs(cjson.decode(ARGV[1])) do out[#out + 1] = k .. \"=\" .. tostring(v) end return out" 0 "${TESSERA_CONFIG_PARAMETERS:-{\}}")
printf '%s\n' "$pairs" | while IFS= read -r pair; do
  [ -n "$pair" ] || continue
  name=${pair%%=*}
  value=${pair#*=}
  if [ -z "$value" ]; then
    value=$(sed -n "s/^$name //p" /etc/redis/redis.conf | head -n 1 | sed 's/^"\(.*\)"$/\1/')
  fi
  rcli "$self" CONFIG SET "$name" "$value" >/dev/null
  log reconfigure "$name = $value"
done
