#!/bin/sh
# archive_command: hands a finished WAL segment (or history file) to the archiver sidecar and
# waits for its answer, so PostgreSQL recycles a segment only once it is in the repository.
# Without point-in-time recovery there is no archiver and segments are not kept.
dir=${TESSERA_ARCHIVE_DIR:-}
[ -n "$dir" ] || exit 0
path=$1
name=$2
# The archiver has exited (the pod is stopping): fail at once; PostgreSQL keeps the segment and
# archives it when it runs again, instead of its shutdown waiting here.
stopped() {
  [ -e "$dir/stopped" ] || return 1
  echo "archiving $name: the archiver has stopped; retried when the server runs again" >&2
}
stopped && exit 1
cp "$path" "$dir/outbox/$name.tmp" && mv "$dir/outbox/$name.tmp" "$dir/outbox/$name" || exit 1
waited=0
while [ "$waited" -lt 3000 ]; do
  if [ -e "$dir/done/$name" ]; then
    rm -f "$dir/done/$name"
    exit 0
  fi
  if [ -e "$dir/failed/$name" ]; then
    echo "archiving $name failed: $(cat "$dir/failed/$name")" >&2
    rm -f "$dir/failed/$name"
    exit 1
  fi
  if stopped; then
    rm -f "$dir/outbox/$name"
    exit 1
  fi
  sleep 0.1
  waited=$((waited + 1))
done
echo "archiving $name: no answer from the archiver within 300 s" >&2
exit 1
