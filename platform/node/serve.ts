// HTTP + WebSocket on Node: node:http (node:https with --tls-cert) for pages and probes, ws for /ws.
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { WebSocket, WebSocketServer } from "ws";
import type { HttpHeaders, Server, ServerSocket, ServeOptions } from "../platform.ts";

/** The uncorks of the sockets that gathered frames in this turn (Platform.sendGathered). */
const gathering = new Set<() => void>();

/** Sends now what every socket gathered so far in this turn, instead of at its end. */
export function sendGathered(): void {
  for (const uncork of gathering) uncork();
}

export async function nodeServe(options: ServeOptions): Promise<Server> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameSize, perMessageDeflate: false });
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      const url = new URL(req.url ?? "/", "http://localhost");
      const r = await options.http(req.method ?? "GET", url.pathname + url.search, headersOf(req));
      res.writeHead(r.status, r.headers);
      res.end(r.body);
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(e));
    }
  };
  const { tls } = options;
  // With a CA, a client must present a certificate it signed (mutual TLS).
  const server = tls
    ? https.createServer({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, handler)
    : http.createServer(handler);
  server.on("tlsClientError", (_e, socket) => socket.destroy()); // a plain-text or untrusted client: closed, nothing else
  server.on("upgrade", (req, socket, head) => {
    if (new URL(req.url ?? "/", "http://localhost").pathname !== "/ws") {
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, socket as Socket, req, options));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host: options.host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function headersOf(req: http.IncomingMessage): HttpHeaders {
  return { get: (name) => { const v = req.headers[name.toLowerCase()]; return Array.isArray(v) ? v.join(", ") : v; } };
}

function attach(ws: WebSocket, raw: Socket, req: http.IncomingMessage, options: ServeOptions): void {
  // ws closes an oversized frame with 1009 but no reason; give the reason the protocol names.
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) =>
    close(code, reason ?? (code === 1009 ? `FRAME_TOO_LARGE: frames are limited to ${options.maxFrameSize} bytes` : undefined));
  // The frames sent in one turn (the replies to every request of one read, a batch's acks) leave
  // in one writev: the socket is corked at the first and uncorked once the turn's work is done,
  // or earlier by sendGathered.
  let corked = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    gathering.delete(uncork);
    raw.uncork();
  };
  const socket: ServerSocket = {
    send: (data) => {
      if (!corked) {
        corked = true;
        raw.cork();
        gathering.add(uncork);
        queueMicrotask(uncork);
      }
      ws.send(data);
    },
    close: (code, reason) => ws.close(code, reason),
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    remoteAddress: req.socket.remoteAddress ?? "",
    origin: req.headers.origin,
    host: req.headers.host,
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    terminate: () => ws.terminate(),
  };
  ws.on("error", () => {}); // protocol errors close the socket; 'close' does the bookkeeping
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      ws.close(1003, "MALFORMED_FRAME: frames are binary CBOR");
      return;
    }
    options.socket.onMessage(socket, data);
  });
  ws.on("close", () => options.socket.onClose(socket));
  options.socket.onOpen(socket);
}
