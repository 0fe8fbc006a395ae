// A page served from an origin other than the broker's, for browser tests: "/" is an empty
// page, "/actormq-client.js" the SDK's browser bundle, anything else 404. The broker lets such a
// page in only when its origin is listed (--allowed-origins).
import { createServer, type Server } from "node:http";
import { readFileSync } from "node:fs";

export async function pageServer(title = "another origin"): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    if (req.url === "/actormq-client.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(readFileSync("dist/actormq-client.js"));
    } else if (req.url === "/") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><title>${title}</title>`);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}
