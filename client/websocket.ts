// The one thing that differs between runtimes: where the WebSocket constructor comes from.
// Browsers use their global one; Node and Deno use the `ws` package (its client speaks the
// same onopen/onmessage/onclose/onerror interface).

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

/**
 * `ws` wherever it can load (Node, and Deno through its Node compatibility), the global
 * WebSocket in browsers. Deno's built-in client writes a frame's header and payload as two
 * segments, so with Nagle's algorithm and the peer's delayed ACK a lone 1-64 KiB frame waits
 * about 44 ms (measured: 23 sends/s at one in flight against 11,500 with ws); ws sets TCP_NODELAY.
 */
export async function resolveWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  const nodeLike = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";
  if (!nodeLike && typeof global === "function") return global as WebSocketConstructor;
  // The browser bundle marks ws external and never reaches this line.
  const ws = await import("ws");
  const WS = (ws.default ?? ws) as unknown as new (url: string, options: object) => WebSocketLike;
  return class extends WS {
    constructor(url: string) {
      // A zero mask lets ws skip XOR-masking every outgoing byte, a quarter of a busy producer's
      // CPU when measured. Masking protects browsers' HTTP intermediaries from script-crafted
      // frames; a Node or Deno process talking to its broker has no such script, and browsers,
      // which use their own WebSocket, mask anyway.
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
