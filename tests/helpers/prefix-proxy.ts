// A reverse proxy that serves a backend under a path prefix, as nginx's
// `location /mq/ { proxy_pass http://broker/; }` does: /mq/x is forwarded as /x, for plain HTTP
// and for WebSocket upgrades alike (the upgrade's bytes are piped both ways). Redirects pass
// through untouched, so the page must use relative ones.
import { createServer, request } from "node:http";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";

export async function startPrefixProxy(prefix: string, backendPort: number): Promise<{ url: string; close(): Promise<void> }> {
  const strip = (url = "/") => (url.startsWith(prefix) ? url.slice(prefix.length - 1) || "/" : null);
  const server = createServer((req, res) => {
    const path = strip(req.url);
    if (path === null) {
      res.writeHead(404).end("outside the prefix\n");
      return;
    }
    const upstream = request({ host: "127.0.0.1", port: backendPort, method: req.method, path, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  const upgraded = new Set<{ destroy(): void }>();
  server.on("upgrade", (req, socket, head) => {
    const path = strip(req.url);
    if (path === null) return socket.destroy();
    upgraded.add(socket);
    const up = connect(backendPort, "127.0.0.1", () => {
      const headers = Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}: ${x}`));
      up.write(`${req.method} ${path} HTTP/1.1\r\n${headers.join("\r\n")}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    const close = () => (up.destroy(), socket.destroy());
    up.on("error", close);
    socket.on("error", close);
    up.on("close", close);
    socket.on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    close: () => new Promise((resolve) => {
      for (const s of upgraded) s.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
