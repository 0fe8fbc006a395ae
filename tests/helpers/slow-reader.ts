// A WebSocket client made by hand over node:net that can stop reading its socket while it keeps
// writing requests: what a client that stops reading looks like to the broker (its replies pile
// up in the broker's send buffer). It writes masked binary frames; when it reads again, it parses
// frames until the close frame and reports its code and reason.
import * as net from "node:net";
import { decode, encode } from "../../protocol/mod.ts";

export interface SlowReader {
  /** Writes one request frame. */
  send(frame: Record<string, unknown>): void;
  /** Stops reading the socket (the kernel's buffers fill, then the broker's). */
  stopReading(): void;
  /** Reads again: everything queued arrives; resolves with the close frame, or null if the connection just ended. */
  readToClose(): Promise<{ code: number; reason: string } | null>;
  /** The next data frame, decoded (while reading). */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the socket ends or errors (it was dropped), with the error's code if any. */
  ended: Promise<string>;
  destroy(): void;
}

export function slowReader(url: string, headers: Record<string, string> = {}): Promise<SlowReader> {
  const u = new URL(url);
  const socket = net.connect(Number(u.port), u.hostname);
  let ended!: (why: string) => void;
  const endedP = new Promise<string>((r) => (ended = r));
  socket.on("error", (e: NodeJS.ErrnoException) => ended(e.code ?? e.message));
  socket.on("close", () => ended("closed"));
  const chunks: Buffer[] = [];
  let taken = 0;
  return new Promise((resolve, reject) => {
    socket.once("connect", () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
      socket.write(`GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`);
    });
    let head = Buffer.alloc(0);
    const onHead = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onHead);
      if (!/^HTTP\/1\.1 101/.test(head.toString("latin1"))) return reject(new Error(`no upgrade: ${head.toString("latin1", 0, end)}`));
      if (head.length > end + 4) chunks.push(head.subarray(end + 4));
      socket.on("data", (c: Buffer) => chunks.push(c));
      resolve({
        send(frame) {
          if (!socket.destroyed) socket.write(maskedFrame(encode(frame)));
        },
        stopReading() {
          socket.pause();
        },
        readToClose() {
          socket.resume();
          return new Promise((done) => {
            const check = () => {
              const close = frames(Buffer.concat(chunks)).find((f) => f.op === 0x8);
              if (close) return done({ code: close.data.length >= 2 ? close.data.readUInt16BE(0) : 1005, reason: close.data.toString("utf8", 2) });
              if (socket.destroyed || socket.readableEnded) return done(null);
              setTimeout(check, 20);
            };
            check();
          });
        },
        next(timeoutMs = 5000) {
          const deadline = Date.now() + timeoutMs;
          return new Promise((done, fail) => {
            const check = () => {
              const data = frames(Buffer.concat(chunks)).filter((f) => f.op === 0x2);
              if (data.length > taken) return done(decode(data[taken++].data) as Record<string, unknown>);
              if (Date.now() > deadline) return fail(new Error("no frame"));
              setTimeout(check, 10);
            };
            check();
          });
        },
        ended: endedP,
        destroy: () => socket.destroy(),
      });
    };
    socket.on("data", onHead);
    socket.once("error", reject);
  });
}

function maskedFrame(payload: Uint8Array): Buffer {
  const len = payload.length;
  const header = len < 126 ? Buffer.from([0x82, 0x80 | len]) : len < 65536 ? Buffer.from([0x82, 0x80 | 126, len >> 8, len & 255]) : (() => {
    const h = Buffer.alloc(10);
    h[0] = 0x82;
    h[1] = 0x80 | 127;
    h.writeBigUInt64BE(BigInt(len), 2);
    return h;
  })();
  return Buffer.concat([header, Buffer.alloc(4), Buffer.from(payload)]); // mask key 0: the payload as it is
}

/** The complete server frames (unmasked) in what has been read. */
function frames(buf: Buffer): { op: number; data: Buffer }[] {
  const out: { op: number; data: Buffer }[] = [];
  let at = 0;
  while (at + 2 <= buf.length) {
    const op = buf[at] & 0x0f;
    let len = buf[at + 1] & 0x7f;
    let p = at + 2;
    if (len === 126) {
      if (p + 2 > buf.length) break;
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      if (p + 8 > buf.length) break;
      len = Number(buf.readBigUInt64BE(p));
      p += 8;
    }
    if (p + len > buf.length) break;
    out.push({ op, data: buf.subarray(p, p + len) });
    at = p + len;
  }
  return out;
}
