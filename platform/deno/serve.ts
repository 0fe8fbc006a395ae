// HTTP + WebSocket on Deno: Deno.serve and Deno.upgradeWebSocket, no npm packages (TLS too:
// Deno.serve takes the certificate and key). Deno.serve cannot ask clients for certificates, so
// with a client CA (--tls-ca) the Node adapter serves instead, through Deno's node:https.
import type { Server, ServerSocket, ServeOptions } from "../platform.ts";

export async function denoServe(options: ServeOptions): Promise<Server> {
  if (options.tls?.ca) return (await import("../node/serve.ts")).nodeServe(options);
  let resolveListening: (port: number) => void;
  const listening = new Promise<number>((r) => (resolveListening = r));
  const sockets = new Set<WebSocket>();
  const server = Deno.serve({
    hostname: options.host,
    port: options.port,
    ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
    onListen: ({ port }) => resolveListening(port),
  }, async (req, info) => {
    const url = new URL(req.url);
    if (url.pathname === "/ws") {
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
      // Unreadable once upgraded: the peer's address and the headers the broker checks.
      const peer = { remoteAddress: (info.remoteAddr as Deno.NetAddr).hostname, origin: req.headers.get("origin") ?? undefined, host: req.headers.get("host") ?? undefined };
      const { socket: ws, response } = Deno.upgradeWebSocket(req);
      ws.binaryType = "arraybuffer";
      attach(ws, peer, options, sockets);
      return response;
    }
    const r = await options.http(req.method, url.pathname + url.search, { get: (name) => req.headers.get(name) ?? undefined });
    return new Response(r.body as BodyInit, { status: r.status, headers: r.headers });
  });
  const port = await listening;
  return {
    host: options.host,
    port,
    close: async () => {
      for (const ws of sockets) ws.close(1001, "broker shutting down");
      await server.shutdown();
    },
  };
}

function attach(ws: WebSocket, peer: Pick<ServerSocket, "remoteAddress" | "origin" | "host">, options: ServeOptions, sockets: Set<WebSocket>): void {
  const socket: ServerSocket = {
    // Deno's typings take only ArrayBuffer-backed views; frames never sit on a SharedArrayBuffer.
    send: (data) => ws.readyState === WebSocket.OPEN && ws.send(data as Uint8Array<ArrayBuffer>),
    close: (code, reason) => ws.close(code, reason),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    ...peer,
  };
  ws.onopen = () => {
    sockets.add(ws);
    options.socket.onOpen(socket);
  };
  ws.onmessage = (e) => {
    if (!(e.data instanceof ArrayBuffer)) {
      ws.close(1003, "MALFORMED_FRAME: frames are binary CBOR");
      return;
    }
    // Deno has no frame-size option: check here, with the same close as the Node adapter.
    if (e.data.byteLength > options.maxFrameSize) {
      ws.close(1009, `FRAME_TOO_LARGE: frames are limited to ${options.maxFrameSize} bytes`);
      return;
    }
    options.socket.onMessage(socket, new Uint8Array(e.data));
  };
  ws.onclose = () => {
    sockets.delete(ws);
    options.socket.onClose(socket);
  };
  ws.onerror = () => {};
}
