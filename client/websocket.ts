// The one thing that differs between runtimes: where the WebSocket constructor comes from.
// Browsers and Deno have a global one; Node 20 does not, and there the `ws` package stands in
// (its client speaks the same onopen/onmessage/onclose/onerror interface).

/** The part of the WHATWG WebSocket the client uses; `ws`'s client satisfies it too. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** WebSocket.OPEN, spelled out: `ws`'s constructor and the global one agree on it. */
export const OPEN = 1;

/** The platform's WebSocket, or `ws` where there is none (Node 20). */
export async function resolveWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global === "function") return global as WebSocketConstructor;
  // A variable specifier would hide `ws` from bundlers; the browser bundle marks it external and
  // never reaches this line, because browsers have a global WebSocket.
  const ws = await import("ws");
  const WS = (ws.default ?? ws) as unknown as new (url: string, options: object) => WebSocketLike;
  return class extends WS {
    constructor(url: string) {
      // A zero mask lets ws skip XOR-masking every outgoing byte, a quarter of a busy producer's
      // CPU when measured. Masking protects browsers' HTTP intermediaries from script-crafted
      // frames; a Node process talking to its broker has no such script, and browsers mask anyway.
      super(url, { perMessageDeflate: false, generateMask: (mask: Uint8Array) => mask.fill(0) });
    }
  } as unknown as WebSocketConstructor;
}

/** A received binary frame as bytes: ArrayBuffer (browsers, Deno, `ws` with "arraybuffer") or a Node Buffer. */
export function frameBytes(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data instanceof Uint8Array) return data;
  // `ws` may hand over fragments as an array of Buffers.
  if (Array.isArray(data) && data.every((d) => d instanceof Uint8Array)) {
    const total = data.reduce((n, d) => n + d.length, 0);
    const out = new Uint8Array(total);
    let pos = 0;
    for (const d of data) {
      out.set(d, pos);
      pos += d.length;
    }
    return out;
  }
  return null;
}
