// HTTP + WebSocket on Deno: Deno.serve and Deno.upgradeWebSocket, no npm packages.
import type { Server, ServerSocket, ServeOptions } from "../platform.ts";

export async function denoServe(options: ServeOptions): Promise<Server> {
  let resolveListening: (port: number) => void;
  const listening = new Promise<number>((r) => (resolveListening = r));
  const sockets = new Set<WebSocket>();
  const server = Deno.serve({
    hostname: options.host,
    port: options.port,
    onListen: ({ port }) => resolveListening(port),
  }, async (req, info) => {
    const url = new URL(req.url);
    if (url.pathname === "/ws") {
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
      const remote = (info.remoteAddr as Deno.NetAddr).hostname; // unreadable once upgraded
      const { socket: ws, response } = Deno.upgradeWebSocket(req);
      ws.binaryType = "arraybuffer";
      attach(ws, remote, options, sockets);
      return response;
    }
    const r = await options.http(req.method, url.pathname + url.search);
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

function attach(ws: WebSocket, remoteAddress: string, options: ServeOptions, sockets: Set<WebSocket>): void {
  const socket: ServerSocket = {
    // Deno's typings take only ArrayBuffer-backed views; frames never sit on a SharedArrayBuffer.
    send: (data) => ws.readyState === WebSocket.OPEN && ws.send(data as Uint8Array<ArrayBuffer>),
    close: (code, reason) => ws.close(code, reason),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    remoteAddress,
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
