// The WebSocket the client picks: `ws` where it loads, each frame masked with a fresh random key
// as RFC 6455 asks of every client (read here off the wire by a bare TCP server doing the
// handshake itself), and the runtime's own WebSocket where `ws` cannot load.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { createServer, type Socket } from "node:net";
import { resolveWebSocket } from "../client/websocket-class.ts";

/** A TCP server that accepts one WebSocket handshake and hands over the raw bytes that follow. */
async function rawServer() {
  let conn: Socket | undefined;
  let bytes = Buffer.alloc(0);
  const server = createServer((socket) => {
    conn = socket;
    let head = "";
    socket.on("data", (d: Buffer) => {
      if (!head.includes("\r\n\r\n")) {
        head += d.toString("latin1");
        const key = /sec-websocket-key: (\S+)/i.exec(head)?.[1];
        if (head.includes("\r\n\r\n") && key) {
          const accept = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        }
        return;
      }
      bytes = Buffer.concat([bytes, d]);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/ws`,
    received: () => bytes,
    close: () => {
      conn?.destroy();
      server.close();
    },
  };
}

test("Node and Deno clients mask every frame with a fresh random key (RFC 6455 5.3)", async () => {
  const server = await rawServer();
  const WS = await resolveWebSocket();
  const ws = new WS(server.url);
  try {
    await check(ws, server);
  } finally {
    ws.close();
    server.close();
  }
});

async function check(ws: InstanceType<Awaited<ReturnType<typeof resolveWebSocket>>>, server: Awaited<ReturnType<typeof rawServer>>) {
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("no handshake"));
  });
  const payload = new Uint8Array(100).fill(7);
  for (let i = 0; i < 4; i++) ws.send(payload);
  const deadline = Date.now() + 5000;
  while (server.received().length < 4 * (2 + 4 + 100) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const raw = server.received();
  const masks: string[] = [];
  for (let at = 0; at < raw.length;) {
    assert.is(raw[at] & 0x0f, 2, "a binary frame");
    assert.ok(raw[at + 1] & 0x80, "the mask bit is set");
    const length = raw[at + 1] & 0x7f;
    assert.is(length, 100);
    const mask = raw.subarray(at + 2, at + 6);
    masks.push(mask.toString("hex"));
    const body = raw.subarray(at + 6, at + 6 + length).map((b, i) => b ^ mask[i % 4]);
    assert.ok(body.every((b) => b === 7), "the payload unmasks to what was sent");
    at += 6 + length;
  }
  assert.is(masks.length, 4);
  assert.ok(!masks.includes("00000000"), `no zero mask: ${masks.join(" ")}`);
  assert.is(new Set(masks).size, 4, `a new key per frame: ${masks.join(" ")}`);
}

test.run();
