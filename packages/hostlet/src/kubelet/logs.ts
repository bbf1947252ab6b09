import { createReadStream, existsSync, openSync, readSync, closeSync, statSync } from "node:fs";
import type { ServerResponse } from "node:http";

export interface LogRequest {
  file: string;
  follow: boolean;
  tailLines?: number;
  limitBytes?: number;
  /** While true, a follower keeps waiting for new output. */
  stillWriting(): boolean;
}

/** The byte offset where the last `lines` lines of the file start. */
export function tailOffset(file: string, lines: number): number {
  const size = statSync(file).size;
  if (lines <= 0) return size;
  const fd = openSync(file, "r");
  try {
    const chunk = Buffer.alloc(64 * 1024);
    let position = size;
    let newlines = 0;
    // A trailing newline ends the last line rather than starting an empty one.
    let skipTrailing = true;
    while (position > 0) {
      const length = Math.min(chunk.length, position);
      position -= length;
      readSync(fd, chunk, 0, length, position);
      for (let i = length - 1; i >= 0; i--) {
        if (chunk[i] !== 0x0a) {
          skipTrailing = false;
          continue;
        }
        if (skipTrailing) {
          skipTrailing = false;
          continue;
        }
        newlines += 1;
        if (newlines === lines) return position + i + 1;
      }
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}

/** Streams a container log, optionally following it until the container stops or the client leaves. */
export async function streamLog(request: LogRequest, res: ServerResponse): Promise<void> {
  res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-cache" });
  if (!existsSync(request.file)) return void res.end();
  let position = request.tailLines !== undefined ? tailOffset(request.file, request.tailLines) : 0;
  let remaining = request.limitBytes ?? Infinity;
  let closed = false;
  res.on("close", () => (closed = true));
  const pump = async (): Promise<void> => {
    const size = statSync(request.file).size;
    if (size <= position || remaining <= 0) return;
    const end = Math.min(size, position + remaining);
    await new Promise<void>((resolve, reject) => {
      const stream = createReadStream(request.file, { start: position, end: end - 1 });
      stream.on("data", (chunk) => void res.write(chunk));
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    remaining -= end - position;
    position = end;
  };
  await pump();
  while (request.follow && !closed && remaining > 0) {
    const writing = request.stillWriting();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await pump();
    if (!writing) break;
  }
  res.end();
}
