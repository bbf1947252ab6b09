import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import zlib from "node:zlib";
import { SPDY3_DICTIONARY } from "./spdy-dictionary.js";

const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const FLAG_FIN = 1;

export interface SpdyStream extends EventEmitter {
  id: number;
  headers: Record<string, string>;
  on(event: "data", listener: (data: Buffer) => void): this;
  on(event: "end", listener: () => void): this;
}

/** Runs `chunk` through a long-lived zlib stream and returns what a sync flush produces. */
function flushThrough(stream: zlib.Inflate | zlib.Deflate, chunk: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const onData = (data: Buffer) => out.push(data);
    const onError = (error: Error) => reject(error);
    stream.on("data", onData);
    stream.once("error", onError);
    stream.write(chunk);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      stream.off("data", onData);
      stream.off("error", onError);
      resolve(Buffer.concat(out));
    });
  });
}

function parseHeaderBlock(block: Buffer): Record<string, string> {
  const headers: Record<string, string> = {};
  let offset = 0;
  const count = block.readUInt32BE(offset);
  offset += 4;
  for (let i = 0; i < count; i++) {
    const nameLength = block.readUInt32BE(offset);
    const name = block
      .subarray(offset + 4, offset + 4 + nameLength)
      .toString("latin1")
      .toLowerCase();
    offset += 4 + nameLength;
    const valueLength = block.readUInt32BE(offset);
    headers[name] = block.subarray(offset + 4, offset + 4 + valueLength).toString("latin1");
    offset += 4 + valueLength;
  }
  return headers;
}

/**
 * The server side of SPDY/3.1 as Kubernetes streaming clients (kubectl's
 * spdystream) use it: peer-initiated streams, replies, data with FIN,
 * pings and GOAWAY. Flow control is not enforced, like spdystream, which
 * neither sends nor honours WINDOW_UPDATE.
 */
export class SpdyServerConnection extends EventEmitter {
  private buffer = Buffer.alloc(0);
  private readonly inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  private readonly streams = new Map<number, SpdyStream>();
  private incoming: Promise<void> = Promise.resolve();
  private outgoing: Promise<void> = Promise.resolve();
  private lastStreamId = 0;
  private closed = false;

  constructor(private readonly socket: Duplex) {
    super();
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("close", () => this.shutdown());
    socket.on("error", () => this.shutdown());
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.streams.values()) stream.emit("end");
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.emit("close");
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 8) {
      const length = this.buffer.readUIntBE(5, 3);
      if (this.buffer.length < 8 + length) break;
      const frame = this.buffer.subarray(0, 8 + length);
      this.buffer = this.buffer.subarray(8 + length);
      this.incoming = this.incoming.then(() => this.handle(frame)).catch((error: Error) => this.fail(error));
    }
  }

  private fail(error: Error): void {
    this.emit("error", error);
    this.socket.destroy();
  }

  private async handle(frame: Buffer): Promise<void> {
    const flags = frame[4]!;
    const payload = frame.subarray(8);
    if ((frame[0]! & 0x80) === 0) {
      const stream = this.streams.get(frame.readUInt32BE(0) & 0x7fffffff);
      if (!stream) return;
      if (payload.length > 0) stream.emit("data", Buffer.from(payload));
      if (flags & FLAG_FIN) stream.emit("end");
      return;
    }
    const type = frame.readUInt16BE(2);
    if (type === SYN_STREAM) {
      const id = payload.readUInt32BE(0) & 0x7fffffff;
      const headers = parseHeaderBlock(await flushThrough(this.inflate, payload.subarray(10)));
      const stream = Object.assign(new EventEmitter(), { id, headers }) as SpdyStream;
      this.streams.set(id, stream);
      this.lastStreamId = id;
      await this.reply(id);
      this.emit("stream", stream);
      if (flags & FLAG_FIN) stream.emit("end");
    } else if (type === RST_STREAM) {
      const id = payload.readUInt32BE(0) & 0x7fffffff;
      this.streams.get(id)?.emit("end");
      this.streams.delete(id);
    } else if (type === PING) {
      this.write(frame);
    } else if (type === GOAWAY) {
      this.socket.end();
    }
  }

  private control(type: number, flags: number, payload: Buffer): Buffer {
    const header = Buffer.alloc(8);
    header.writeUInt16BE(0x8003, 0);
    header.writeUInt16BE(type, 2);
    header.writeUInt32BE(payload.length, 4);
    header[4] = flags;
    return Buffer.concat([header, payload]);
  }

  private async reply(id: number): Promise<void> {
    const emptyHeaders = Buffer.alloc(4);
    const block = await this.serial(() => flushThrough(this.deflate, emptyHeaders));
    const streamId = Buffer.alloc(4);
    streamId.writeUInt32BE(id);
    this.write(this.control(SYN_REPLY, 0, Buffer.concat([streamId, block])));
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.outgoing.then(task);
    this.outgoing = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private write(frame: Buffer): void {
    if (!this.closed && this.socket.writable) this.socket.write(frame);
  }

  /** Sends data on a stream (in frames of at most 32 KiB); `fin` half-closes it. */
  send(id: number, data: Buffer, fin = false): void {
    const max = 32 * 1024;
    let offset = 0;
    do {
      const part = data.subarray(offset, offset + max);
      offset += part.length;
      const header = Buffer.alloc(8);
      header.writeUInt32BE(id & 0x7fffffff, 0);
      header.writeUInt32BE(part.length, 4);
      header[4] = fin && offset >= data.length ? FLAG_FIN : 0;
      this.write(Buffer.concat([header, part]));
    } while (offset < data.length);
  }

  /** GOAWAY, then closes the connection once written. */
  close(): void {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(this.lastStreamId, 0);
    this.write(this.control(GOAWAY, 0, payload));
    this.socket.end();
  }
}
