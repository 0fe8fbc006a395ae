// The physical yardsticks a broker figure is compared with, measured in the same run on the
// same disk: raw sequential append of 1 KiB records, the fsync rate, and a bare ws + CBOR echo
// server answering sendBatch-shaped frames (the transport's ceiling).
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import WS, { WebSocketServer } from "ws";
import { encode, decode } from "../protocol/mod.ts";
import { nodeFiles } from "../platform/node/files.ts";

/** 1 KiB records written in batches of `batch` with one positional write each: records/s. */
export function rawAppend(dir: string, totalRecords: number, batch: number): number {
  const path = join(mkdtempSync(join(dir, "raw-")), "log");
  const file = nodeFiles.open(path);
  const buf = new Uint8Array(1024 * batch).fill(7);
  const started = performance.now();
  let pos = 0;
  for (let i = 0; i < totalRecords; i += batch) {
    file.write(buf, pos);
    pos += buf.length;
  }
  const secs = (performance.now() - started) / 1000;
  file.close();
  rmSync(path, { force: true });
  return totalRecords / secs;
}

/** fdatasync after each small append, for `ms` milliseconds: fsyncs/s. */
export async function fsyncRate(dir: string, ms: number): Promise<number> {
  const path = join(mkdtempSync(join(dir, "fsync-")), "log");
  const file = nodeFiles.open(path);
  const buf = new Uint8Array(1024).fill(1);
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    file.write(buf, n * buf.length);
    await file.sync();
    n++;
  }
  const secs = (performance.now() - started) / 1000;
  file.close();
  rmSync(path, { force: true });
  return n / secs;
}

/**
 * A ws server in a child process that decodes each frame and answers a sendBatch-shaped frame
 * with one result per message, as the broker does, but stores nothing. The client keeps
 * `inFlight` messages outstanding in frames of `batch`: messages/s.
 */
export async function wsEcho(totalMessages: number, batch: number, inFlight: number): Promise<number> {
  const child = fork(new URL(import.meta.url).pathname, ["--echo-server"], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
  const port = await new Promise<number>((resolve) => child.on("message", (m) => resolve((m as { port: number }).port)));
  try {
    // The same socket settings as the SDK on Node (zero mask: ws skips masking).
    const ws = new WS(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate: false, generateMask: (m: Buffer) => m.fill(0) });
    await new Promise((r) => ws.once("open", r));
    const msg = encode({ topic: "Echo", body: new Uint8Array(1024), id: "x".repeat(21), born: Date.now() });
    const frame = (id: number) => encode({ id, op: "sendBatch", msgs: Array.from({ length: batch }, () => msg) });
    let sent = 0;
    let done = 0;
    let id = 0;
    const started = performance.now();
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (sent < totalMessages && sent - done < inFlight) {
          ws.send(frame(++id));
          sent += batch;
        }
      };
      ws.on("message", (data: Buffer) => {
        done += (decode(data) as { results: unknown[] }).results.length;
        if (done >= totalMessages) resolve();
        else pump();
      });
      pump();
    });
    const rate = totalMessages / ((performance.now() - started) / 1000);
    ws.close();
    return rate;
  } finally {
    (child as ChildProcess).kill();
  }
}

if (process.argv.includes("--echo-server")) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  wss.on("connection", (ws) =>
    ws.on("message", (data: Buffer) => {
      const req = decode(data) as { id: number; msgs: Uint8Array[] };
      const results = req.msgs.map((m, i) => {
        decode(m); // the broker decodes each message to route it; so does the yardstick
        return { code: 0, msgId: "x".repeat(21), topic: "Echo", queueId: 0, queueOffset: i, commitLogOffset: i * 1100 };
      });
      ws.send(encode({ id: req.id, code: 0, results }));
    }));
  wss.on("listening", () => process.send!({ port: (wss.address() as { port: number }).port }));
}
