import { connect, type Socket } from "node:net";

/**
 * A reply in the Redis protocol (RESP2): a status or bulk string, an integer,
 * nil, an array, or an error reply (an element of an EXEC result may be one).
 */
export type Reply = string | number | null | RespError | Reply[];

export class RespError extends Error {}

/** Parses one reply at `at`; undefined while the buffer does not hold all of it yet. */
function parse(buffer: Buffer, at: number): { reply: Reply; next: number } | undefined {
  const end = buffer.indexOf("\r\n", at);
  if (end < 0) return undefined;
  const line = buffer.toString("utf8", at + 1, end);
  const next = end + 2;
  switch (String.fromCharCode(buffer[at]!)) {
    case "+":
      return { reply: line, next };
    case "-":
      return { reply: new RespError(line), next };
    case ":":
      return { reply: Number(line), next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { reply: null, next };
      if (buffer.length < next + length + 2) return undefined;
      return { reply: buffer.toString("utf8", next, next + length), next: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { reply: null, next };
      const items: Reply[] = [];
      let position = next;
      for (let i = 0; i < count; i++) {
        const item = parse(buffer, position);
        if (!item) return undefined;
        items.push(item.reply);
        position = item.next;
      }
      return { reply: items, next: position };
    }
    default:
      throw new Error(`unexpected Redis reply type ${JSON.stringify(buffer.toString("utf8", at, at + 1))}`);
  }
}

/**
 * One connection to a Redis server speaking RESP2, for the chaos suite: it
 * keeps its connection (the writer and the watcher ask many times a second,
 * where a redis-cli process per question would cost a process start each)
 * and can pipeline commands, so a write and the question "who are you" are
 * answered by the same server in one round trip. Replies come in order; a
 * broken connection fails every pending command.
 */
export class RespConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: { resolve: (reply: Reply) => void; reject: (error: Error) => void }[] = [];
  private broken?: Error;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk) => this.receive(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("connection closed")));
  }

  /**
   * Connects and authenticates as `default`, giving up after timeoutMs; the
   * password is never part of an error message.
   */
  static async open(
    host: string,
    port: number,
    password: string,
    timeoutMs: number,
  ): Promise<RespConnection> {
    const socket = connect({ host, port, noDelay: true });
    const connection = new RespConnection(socket);
    const timer = setTimeout(() => connection.destroy(), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("error", reject);
        socket.once("close", () =>
          reject(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`)),
        );
      });
      await connection.command("AUTH", password);
    } catch (error) {
      connection.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return connection;
  }

  /** One command; an error reply rejects. */
  async command(...args: string[]): Promise<Reply> {
    const [reply] = await this.pipeline([args]);
    if (reply instanceof RespError) throw reply;
    return reply!;
  }

  /** Sends the commands in one write and resolves with their replies, error replies included. */
  pipeline(commands: string[][]): Promise<Reply[]> {
    if (this.broken) return Promise.reject(this.broken);
    const replies = commands.map(
      () =>
        new Promise<Reply>((resolve, reject) => {
          this.pending.push({ resolve, reject });
        }),
    );
    this.socket.write(
      commands
        .map(
          (args) => `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(""),
        )
        .join(""),
    );
    return Promise.all(replies);
  }

  /** Drops the connection at once, without a QUIT. */
  destroy(): void {
    this.socket.destroy();
    this.fail(new Error("connection discarded"));
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let at = 0;
    for (;;) {
      const parsed = at < this.buffer.length ? parse(this.buffer, at) : undefined;
      if (!parsed) break;
      at = parsed.next;
      this.pending.shift()?.resolve(parsed.reply);
    }
    this.buffer = this.buffer.subarray(at);
  }

  private fail(error: Error): void {
    this.broken ??= error;
    for (const waiting of this.pending.splice(0)) waiting.reject(this.broken);
  }
}

/** The fields of an INFO section (`name:value` lines). */
export function infoFields(info: Reply): Map<string, string> {
  if (typeof info !== "string") throw new Error(`INFO answered ${String(info)}`);
  return new Map(
    info
      .split("\r\n")
      .filter((line) => line.includes(":") && !line.startsWith("#"))
      .map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1)]),
  );
}
