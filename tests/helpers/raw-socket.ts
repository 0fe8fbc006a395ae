// A bare WebSocket for protocol-level tests: send any bytes, read frames and the close.
import WS from "ws";
import { decode } from "../../protocol/mod.ts";

export interface RawSocket {
  send(bytes: Uint8Array | string): void;
  /** The next frame the broker sends, decoded. */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function rawSocket(url: string): Promise<RawSocket> {
  const Ctor = (globalThis.WebSocket ?? WS) as typeof WebSocket;
  const ws = new Ctor(url);
  ws.binaryType = "arraybuffer";
  const frames: Record<string, unknown>[] = [];
  const waiters: ((f: Record<string, unknown>) => void)[] = [];
  ws.onmessage = (e) => {
    const f = decode(new Uint8Array(e.data as ArrayBuffer)) as Record<string, unknown>;
    const w = waiters.shift();
    if (w) w(f);
    else frames.push(f);
  };
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (ws.onclose = (e) => resolve({ code: e.code, reason: e.reason })));
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
  });
  return {
    // DOM typings take only ArrayBuffer-backed views; ours never sit on a SharedArrayBuffer.
    send: (bytes) => ws.send(bytes as string | Uint8Array<ArrayBuffer>),
    next: (timeoutMs = 5000) =>
      frames.length ? Promise.resolve(frames.shift()!) : new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no frame")), timeoutMs);
        waiters.push((f) => {
          clearTimeout(t);
          resolve(f);
        });
      }),
    closed,
    close: () => ws.close(),
  };
}
