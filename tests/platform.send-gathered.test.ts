// Platform.sendGathered: a frame sent in the middle of a long turn leaves when sendGathered is
// called, not when the turn ends (the broker answers a woken long poll, then builds the write's
// acks). The client is a child process, so it sees the frames arrive while the server's turn is
// still running.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadPlatform } from "../platform/select.ts";

/** Connects, sends "go", prints the ms between the first and the second frame it gets, exits. */
const CLIENT = `
const { WebSocket } = require("ws");
const ws = new WebSocket(process.argv[1]);
let first = 0;
ws.on("open", () => ws.send(Buffer.from("go")));
ws.on("message", () => {
  if (!first) first = performance.now();
  else { console.log(Math.round(performance.now() - first)); process.exit(0); }
});
`;

/** How long the server's turn goes on after sendGathered: the gap the client must see. */
const TURN_MS = 300;

// Deno's WebSocket hands a frame to the socket only once the turn yields: nothing can go earlier.
const denoSkip = "Deno" in globalThis ? "Deno's WebSocket writes a frame only when the turn yields, so sendGathered is a no-op there" : null;
if (denoSkip) console.log(`skipping the sendGathered test: ${denoSkip}`);

(denoSkip ? test.skip : test)("a frame sent before sendGathered reaches the peer while the turn goes on; the rest at its end", async () => {
  const platform = await loadPlatform();
  const server = await platform.serve({
    host: "127.0.0.1",
    port: 0,
    maxFrameSize: 1 << 20,
    http: () => ({ status: 404, body: "" }),
    socket: {
      onOpen() {},
      onClose() {},
      onMessage(socket) {
        socket.send(new Uint8Array([1]));
        platform.sendGathered();
        // The rest of a long turn: deliberately synchronous, so nothing else can send the frame.
        const until = performance.now() + TURN_MS;
        while (performance.now() < until);
        socket.send(new Uint8Array([2]));
      },
    },
  });
  try {
    const child = spawn("node", ["-e", CLIENT, `ws://127.0.0.1:${server.port}/ws`], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.is(code, 0);
    const gap = Number(out.trim());
    // Gathered until the turn's end, both frames would arrive together (a gap near 0).
    assert.ok(gap >= TURN_MS * 0.8, `the first frame arrived ${gap} ms before the second; expected about ${TURN_MS}`);
  } finally {
    await server.close();
  }
});

test.run();
