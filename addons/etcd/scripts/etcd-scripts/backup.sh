#!/bin/sh
# Backup method "snapshot" (runs in a backup pod, not in the instance): an
# `etcdctl snapshot save` of the member at TESSERA_BACKUP_TARGET_POD_FQDN,
# written to stdout; its revision and the etcd version go to TESSERA_BACKUP_META.
set -eu
. /scripts/common.sh
endpoint=http://$TESSERA_BACKUP_TARGET_POD_FQDN:2379
# snapshot save writes only to a file (it checks the size received, then
# renames it into place): the snapshot goes through the backup pod's work directory.
work=$(mktemp -d "$(dirname "$TESSERA_BACKUP_META")/snapshot.XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$(status_field "$(etcdctl --endpoints="$endpoint" --dial-timeout=5s endpoint status -w fields)" Version)
log backup "snapshot of $endpoint (etcd $version)"
# The command timeout also bounds the transfer; the Backup's own timeout is the one that matters.
etcdctl --endpoints="$endpoint" --dial-timeout=5s --command-timeout=24h snapshot save "$work/snapshot.db" >&2
revision=$(status_field "$(etcdctl snapshot status "$work/snapshot.db" -w fields)" Revision)
cat "$work/snapshot.db"
printf 'startPosition=%s\nendPosition=%s\nengineVersion=%s\n' "$revision" "$revision" "$version" \
  | tr -d '"' >"$TESSERA_BACKUP_META"
