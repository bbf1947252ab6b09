import { readFileSync, readlinkSync } from "node:fs";
import { runCommand } from "@tessera/base";

/**
 * The pseudo-terminal of an exec'd command: the first process below
 * `rootPid` whose stdin is a /dev/pts device, reachable from the host as
 * /proc/<pid>/fd/0 even though the device lives in the sandbox.
 */
export function findTerminal(rootPid: number): string | undefined {
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    try {
      if (readlinkSync(`/proc/${pid}/fd/0`).startsWith("/dev/pts/")) return `/proc/${pid}/fd/0`;
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8");
      queue.push(...children.split(" ").filter(Boolean).map(Number));
    } catch {
      // The process is gone.
    }
  }
  return undefined;
}

/** Sets a terminal's window size; the kernel tells its foreground processes (SIGWINCH). */
export async function resizeTerminal(
  device: string,
  size: { width: number; height: number },
): Promise<boolean> {
  const result = await runCommand("stty", [
    "-F",
    device,
    "rows",
    String(size.height),
    "cols",
    String(size.width),
  ]);
  return result.code === 0;
}
