// A broker that accepts the TCP connection but never answers the WebSocket handshake (hung,
// or stopped): the request fails with CONNECTION_CLOSED after the connect timeout, and the
// socket given up on does not crash the process with an uncaught "closed before the
// connection was established" error.
import { createServer, type Socket } from "node:net";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Transport } from "../client/transport.ts";
import { resolveWebSocket } from "../client/websocket-class.ts";
import { BrokerError } from "../protocol/mod.ts";

test("a handshake that never comes fails the request and nothing else", async () => {
  const held: Socket[] = [];
  const server = createServer((s) => void held.push(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const uncaught: unknown[] = [];
  const onError = (e: unknown) => void uncaught.push(e);
  if ("process" in globalThis) globalThis.process.on("uncaughtException", onError);
  const t = new Transport(`ws://127.0.0.1:${port}/ws`, { WebSocket: resolveWebSocket(), connectTimeoutMs: 200 });
  const e = await t.request("queryRoute", { topic: "T" }, 3000).catch((x) => x);
  assert.ok(e instanceof BrokerError);
  assert.is(e.code, "CONNECTION_CLOSED");
  assert.match(e.message, /no handshake in 200 ms/);
  // The abandoned socket's error event fires after the rejection.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(uncaught, []);
  await t.close();
  for (const s of held) s.destroy();
  await new Promise((r) => server.close(r));
});

test.run();
