// Where a broker's memory goes while it stores messages: a broker in a child process (with
// --expose-gc) reports process.memoryUsage(), V8's heap spaces, the [heap] mapping of
// /proc/self/smaps and MessageStore.memory() before and after `total` 1 KiB messages (1,000 in
// flight, timed ones due 1-11 min out, or plain), read as the bench reads RSS (no GC) and after
// a full GC. Not part of `npm run bench` (it exists to itemise one row of it); run it with
//
//   node_modules/.bin/esbuild --bundle --platform=node --format=esm --packages=external \
//     bench/memory-breakdown.ts --outfile=dist/memory-breakdown.mjs
//   node dist/memory-breakdown.mjs [total=1000000] [timed|plain]
//   node dist/memory-breakdown.mjs 20000 delayed
//
// `delayed` is the peers bench's delayed workload: each message due a random time within 10 s
// of its send, a PushConsumer taking them; read after the sends (no GC, as the bench reads) and
// again once every message was delivered (no GC, and after a full GC), and after the bench's idle
// settle (no GC of its own: what the broker's --idle-gc gave back).
//
// The broker runs with the broker's V8 and launch flags (platform/v8-flags.ts); BENCH_BROKER_NODE_ARGS adds
// more, as for the bench's brokers (e.g. --max-semi-space-size=8).
import { fork } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getHeapSpaceStatistics } from "node:v8";
import { Admin, Producer, PushConsumer } from "../client/mod.ts";
import { Broker } from "../runtime/broker.ts";
import { defaults } from "../runtime/config.ts";
import { loadPlatform } from "../platform/select.ts";
import { inProcessBrokerExecArgv } from "./broker-workloads.ts";
import { FULL } from "./peers/peer.ts";

/** The peers bench's wait after the last delivered message (the broker's --idle-gc at work). */
const IDLE_SETTLE_MS = FULL.settleMs;

const BODY = new Uint8Array(1024).fill(42);

type Reading = Record<string, number>;

/** Rss of the brk heap, where glibc keeps what it allocated (and what it freed but kept). */
function brkHeapBytes(): number {
  let inHeap = false;
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inHeap = line.endsWith("[heap]");
    else if (inHeap && line.startsWith("Rss:")) return Number(/(\d+)/.exec(line)![1]) * 1024;
  }
  return 0;
}

function reading(broker: Broker): Reading {
  const m = process.memoryUsage();
  const spaces: Reading = {};
  for (const s of getHeapSpaceStatistics()) spaces[`v8 ${s.space_name}`] = s.physical_space_size;
  const cpu = process.cpuUsage();
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, brkHeap: brkHeapBytes(), ...broker.store.memory(), ...spaces, cpuMicros: cpu.user + cpu.system };
}

async function child(dataDir: string): Promise<void> {
  const broker = await Broker.start(await loadPlatform(), { ...defaults, port: 0, grpcPort: 0, dataDir });
  process.send!({ url: broker.address });
  process.on("message", async (m: string) => {
    if (m === "measure") {
      const raw = reading(broker);
      const gc = (globalThis as { gc?: () => void }).gc!;
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 50));
      }
      process.send!({ raw, gc: reading(broker) });
    } else if (m === "stop") {
      await broker.shutdown();
      process.exit(0);
    }
  });
}

async function main(total: number, timed: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "actormq-membreak-"));
  const proc = fork(new URL(import.meta.url).pathname, ["--broker", dir], { execArgv: inProcessBrokerExecArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const replies: ((m: unknown) => void)[] = [];
  proc.on("message", (m) => replies.shift()?.(m));
  const ask = <T>(what?: string): Promise<T> => new Promise((resolve) => {
    replies.push(resolve as (m: unknown) => void);
    if (what) proc.send(what);
  });
  try {
    const { url } = await ask<{ url: string }>();
    const admin = new Admin({ endpoints: url });
    await admin.start();
    await admin.createTopic("MemBreakdown", 8);
    await admin.shutdown();
    const producer = new Producer({ endpoints: url, group: "bench-membreak" });
    await producer.start();
    let base = Date.now() + 60_000;
    const due = () => (timed ? Math.round(base + Math.random() * 600_000) : undefined);
    // Warm up as storeMany does, then the baseline.
    for (let i = 0; i < 1000; i++) await producer.send({ topic: "MemBreakdown", body: BODY, deliverAt: due() });
    await new Promise((r) => setTimeout(r, 1000));
    const before = await ask<{ raw: Reading; gc: Reading }>("measure");
    base = Date.now() + 60_000;
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: 1000 }, async () => {
      while (next < total) {
        next++;
        await producer.send({ topic: "MemBreakdown", body: BODY, deliverAt: due() });
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    await producer.shutdown();
    await new Promise((r) => setTimeout(r, 2000)); // the bench's settle
    const after = await ask<{ raw: Reading; gc: Reading }>("measure");
    console.log(`${total} ${timed ? "timed" : "plain"} messages, ${Math.round(total / seconds)} msg/s, broker CPU ${((after.raw.cpuMicros - before.gc.cpuMicros) / total).toFixed(1)} µs/msg`);
    console.log("growth per message (B)          no GC    after GC");
    for (const k of Object.keys(after.gc)) {
      if (k === "cpuMicros") continue;
      const raw = (after.raw[k] - before.gc[k]) / total;
      const gc = (after.gc[k] - before.gc[k]) / total;
      if (Math.abs(raw) < 0.05 && Math.abs(gc) < 0.05) continue;
      console.log(`${k.padEnd(30)} ${raw.toFixed(1).padStart(7)} ${gc.toFixed(1).padStart(11)}`);
    }
    const rest = (r: Reading) => r.rss - r.heapTotal - r.arrayBuffers;
    console.log(`${"rss - heapTotal - arrayBuffers".padEnd(30)} ${((rest(after.raw) - rest(before.gc)) / total).toFixed(1).padStart(7)} ${((rest(after.gc) - rest(before.gc)) / total).toFixed(1).padStart(11)}`);
    console.log(`(the tail's ring counts in arrayBuffers from its allocation, in rss as its pages are written; tail held now ${after.gc.tailBytes} B, index ${after.gc.indexBytes} B)`);
  } finally {
    proc.send("stop");
    await new Promise((r) => proc.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per-message growth of every reading from `before`, for each of the later readings. */
function printGrowth(total: number, before: Reading, columns: [string, Reading][]): void {
  console.log(`growth per message (B)         ${columns.map(([name]) => name.padStart(16)).join("")}`);
  const rest = (r: Reading) => r.rss - r.heapTotal - r.arrayBuffers;
  for (const k of [...Object.keys(before).filter((k) => k !== "cpuMicros"), "rss - heapTotal - arrayBuffers"]) {
    const vs = columns.map(([, r]) => ((k.startsWith("rss - ") ? rest(r) - rest(before) : r[k] - before[k]) / total));
    if (vs.every((v) => Math.abs(v) < 0.05)) continue;
    console.log(`${k.padEnd(30)} ${vs.map((v) => v.toFixed(1).padStart(16)).join("")}`);
  }
}

/** The peers bench's delayed workload, itemised: sends due within 10 s, a consumer taking them. */
async function delayed(total: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "actormq-membreak-"));
  const proc = fork(new URL(import.meta.url).pathname, ["--broker", dir], { execArgv: inProcessBrokerExecArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const replies: ((m: unknown) => void)[] = [];
  proc.on("message", (m) => replies.shift()?.(m));
  const ask = <T>(what?: string): Promise<T> => new Promise((resolve) => {
    replies.push(resolve as (m: unknown) => void);
    if (what) proc.send(what);
  });
  try {
    const { url } = await ask<{ url: string }>();
    const admin = new Admin({ endpoints: url });
    await admin.start();
    await admin.createTopic("Delayed", 4);
    await admin.shutdown();
    let arrived = 0;
    let allArrived!: () => void;
    const done = new Promise<void>((r) => (allArrived = r));
    const consumer = new PushConsumer({ endpoints: url, group: "delayed", subscriptions: { Delayed: "*" }, consumeFrom: "first", handler: () => (++arrived === total && allArrived(), "SUCCESS") });
    const producer = new Producer({ endpoints: url, group: "bench-membreak" });
    await Promise.all([consumer.start(), producer.start()]);
    await new Promise((r) => setTimeout(r, 1000));
    const before = await ask<{ raw: Reading; gc: Reading }>("measure");
    let next = 0;
    await Promise.all(Array.from({ length: 1000 }, async () => {
      while (next < total) {
        next++;
        await producer.send({ topic: "Delayed", body: BODY, deliverAt: Math.round(Date.now() + Math.random() * 10_000) });
      }
    }));
    const pending = total - arrived;
    const sent = await ask<{ raw: Reading; gc: Reading }>("measure");
    await done;
    const delivered = await ask<{ raw: Reading; gc: Reading }>("measure");
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const idle = await ask<{ raw: Reading; gc: Reading }>("measure");
    await Promise.all([consumer.shutdown(), producer.shutdown()]);
    console.log(`${total} delayed messages, ${pending} pending after the sends; from the reading before the first send (raw, as the bench reads RSS):`);
    printGrowth(total, before.raw, [["sent (raw)", sent.raw], ["delivered (raw)", delivered.raw], ["delivered (GC)", delivered.gc], [`idle ${IDLE_SETTLE_MS / 1000} s (raw)`, idle.raw]]);
    console.log(`(tail held ${delivered.gc.tailBytes} B, index ${delivered.gc.indexBytes} B)`);
  } finally {
    proc.send("stop");
    await new Promise((r) => proc.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes("--broker")) await child(process.argv[process.argv.indexOf("--broker") + 1]);
else if (process.argv[3] === "delayed") await delayed(Number(process.argv[2] ?? 20_000));
else await main(Number(process.argv[2] ?? 1_000_000), process.argv[3] !== "plain");
