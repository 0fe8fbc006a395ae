// The one thing that differs between runtimes: where the WebSocket constructor comes from.
// The `ws` package wherever it loads (Node, and Deno through its npm support), otherwise the
// global WebSocket (browsers, Deno without npm packages, any runtime that has one).

import { BrokerError, ErrorCode } from "../protocol/mod.ts";

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

/**
 * TLS for wss:// on Node and Deno (browsers use their own trust store and ignore it): the CAs
 * to trust (PEM) instead of the system's, a client certificate and key for a broker that asks
 * for one (--tls-ca), and rejectUnauthorized: false to skip verification, for tests only.
 */
export interface TlsClientOptions {
  ca?: string | string[];
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

/** WebSocket.OPEN, spelled out: `ws`'s constructor and the global one agree on it. */
export const OPEN = 1;

/**
 * `ws` when it loads, else the global WebSocket: decided by what is there, not by which runtime
 * this looks like. `ws` comes first where both exist (Deno, Node 22+): Deno's built-in client
 * writes a frame's header and payload as two segments, so with Nagle's algorithm and the peer's
 * delayed ACK a lone 1-64 KiB frame waits about 44 ms (measured: 23 sends/s at one in flight
 * against 11,500 with ws); ws sets TCP_NODELAY. Browser bundles replace `ws` with nothing
 * (scripts/build.mjs), so they take the global one without trying.
 */
export async function resolveWebSocket(tls?: TlsClientOptions): Promise<WebSocketConstructor> {
  const WS = await loadWs();
  if (WS) {
    return class extends WS {
      constructor(url: string) {
        // ws masks every frame with a fresh random key (RFC 6455 5.3), as browsers do.
        super(url, { perMessageDeflate: false, ...tls });
      }
    } as unknown as WebSocketConstructor;
  }
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global === "function") return global as WebSocketConstructor;
  throw new BrokerError(ErrorCode.CONNECTION_CLOSED, "no WebSocket here: install the ws package, or pass options.WebSocket");
}

type WsConstructor = new (url: string, options: object) => WebSocketLike;

async function loadWs(): Promise<WsConstructor | null> {
  try {
    const ws = await import("ws");
    const WS = (ws.default ?? ws) as unknown;
    return typeof WS === "function" ? (WS as WsConstructor) : null;
  } catch {
    return null; // not installed, or not resolvable here (a bare specifier in a browser)
  }
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
