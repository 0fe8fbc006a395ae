// Dialing a WebSocket with a WHATWG-style constructor (ws's client on Node, the global one on
// Deno): resolves once open, rejects on refusal or when the handshake takes too long.
import type { ClientSocket, DialOptions } from "./platform.ts";

interface SocketLike {
  binaryType: string;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export function dialWith(open: (url: string) => SocketLike, url: string, options: DialOptions): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    let ws: SocketLike;
    try {
      ws = open(url);
    } catch (e) {
      return reject(new Error(`cannot connect to ${url}: ${(e as Error).message}`));
    }
    ws.binaryType = "arraybuffer";
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.onopen = ws.onclose = ws.onmessage = null;
      ws.onerror = () => {}; // closing a socket still connecting may emit an error
      try {
        ws.close();
      } catch { /* already closing */ }
      reject(new Error(`cannot connect to ${url}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no handshake in ${options.timeoutMs} ms`), options.timeoutMs);
    ws.onerror = () => fail("connection refused or reset");
    ws.onclose = () => fail("closed during the handshake");
    ws.onopen = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.onerror = () => {}; // a close event follows
      ws.onclose = () => options.onClose();
      ws.onmessage = (ev) => {
        const d = ev.data;
        if (d instanceof ArrayBuffer) options.onMessage(new Uint8Array(d));
        else if (d instanceof Uint8Array) options.onMessage(d);
      };
      resolve({ send: (data) => ws.send(data), close: () => ws.close(1000, "closing") });
    };
  });
}
