/**
 * Per-pod /etc/passwd and /etc/group: the host's entries plus one for the
 * pod's user and groups when the host has none, because database tools
 * (initdb, mysqld) refuse to run under a uid without a passwd entry.
 */
export function renderPasswd(hostPasswd: string, uid: number, gid: number): string {
  const lines = hostPasswd.split("\n").filter(Boolean);
  const known = lines.some((line) => line.split(":")[2] === String(uid));
  if (!known) lines.push(`user${uid}:x:${uid}:${gid}:pod user:/tmp:/bin/sh`);
  return lines.join("\n") + "\n";
}

export function renderGroup(hostGroup: string, gids: number[]): string {
  const lines = hostGroup.split("\n").filter(Boolean);
  for (const gid of [...new Set(gids)]) {
    if (!lines.some((line) => line.split(":")[2] === String(gid))) lines.push(`group${gid}:x:${gid}:`);
  }
  return lines.join("\n") + "\n";
}
