// Broker workloads through the real SDK against a broker child process (so the broker has a
// core of its own and its RSS can be read): produce, consume, latency at a steady rate.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Admin, type ClientOptions, Producer, PullConsumer } from "../client/mod.ts";
import { BROKER_LAUNCH_FLAGS, BROKER_V8_FLAGS } from "../platform/v8-flags.ts";

/** What a bench client adds to its endpoint: TLS trust and credentials (bench --only security). */
export type BenchClientOptions = Pick<ClientOptions, "tls" | "credentials">;
import { percentile } from "./stats.ts";

export interface BrokerHandle {
  url: string;
  child: ChildProcess;
  rssBytes(): number;
  /** The broker's CPU time so far (user + system), ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Brokers still running: a bench that fails midway must not leave them behind. */
const running = new Set<ChildProcess>();
process.on("exit", () => running.forEach((c) => c.kill("SIGKILL")));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));

/** Node flags for every broker the bench starts, e.g. BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof". */
export const brokerNodeArgs = (process.env.BENCH_BROKER_NODE_ARGS ?? "").split(/\s+/).filter(Boolean);
/** Node's arguments before dist/broker.mjs: npm start's launch flags, then the bench's (a later V8 flag wins). */
export const brokerLaunchArgs = [...BROKER_LAUNCH_FLAGS, ...brokerNodeArgs];
/** The same for a bench process that runs a Broker itself (no runtime/main.ts to set the broker's V8 flags). */
export const inProcessBrokerExecArgv = [...BROKER_V8_FLAGS, ...brokerLaunchArgs];

export async function startBrokerProcess(args: string[]): Promise<BrokerHandle> {
  const child = spawn(process.execPath, [...brokerLaunchArgs, "dist/broker.mjs", "--port", "0", "--grpc-port", "0", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  running.add(child);
  child.once("exit", () => running.delete(child));
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (wss?:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`broker exited ${code}: ${out}`)));
  });
  return {
    url,
    child,
    rssBytes: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? NaN) * 1024,
    cpuMs: () => cpuMs(child.pid!),
    // A clean stop (flush, snapshot) takes well under a second; one that hangs is a broker bug
    // the bench reports instead of waiting on it forever.
    stop: () =>
      new Promise<void>((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`the broker did not exit within 15 s of SIGTERM:\n${out.slice(-2000)}`));
        }, 15_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

const BODY = new Uint8Array(1024).fill(42);

/** One producer, `inFlight` sends outstanding: messages/s. */
export async function produce(url: string, topic: string, total: number, inFlight: number, client: BenchClientOptions = {}): Promise<number> {
  const producer = new Producer({ endpoints: url, group: "bench", ...client });
  await producer.start();
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      next++;
      await producer.send({ topic, body: BODY });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const rate = total / ((performance.now() - started) / 1000);
  await producer.shutdown();
  return rate;
}

/** One consumer draining every queue of a topic from offset 0, pulls of 32 pipelined per queue: messages/s. */
export async function consume(url: string, topic: string, queues: number, expected: number, client: BenchClientOptions = {}): Promise<number> {
  const consumer = new PullConsumer({ endpoints: url, group: "bench", ...client });
  await consumer.start();
  let got = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: queues }, async (_, queueId) => {
    let offset = 0;
    for (;;) {
      const r = await consumer.pull({ topic, queueId, offset, maxCount: 32 });
      if (r.status !== "FOUND") break;
      got += r.msgs.length;
      offset = r.nextOffset;
    }
  }));
  const rate = got / ((performance.now() - started) / 1000);
  await consumer.shutdown();
  if (got < expected) throw new Error(`consumed ${got} of ${expected}`);
  return rate;
}

/**
 * Sends at a steady `rate` msg/s for a 2 s warm-up (JIT, connections, routes; not counted) and
 * then `seconds` more, while one long-polling consumer per queue reads;
 * latency = receive time - send time, both from this process's performance.now(). Returns
 * p50/p99/p99.9 in ms.
 */
export async function latency(url: string, topic: string, queues: number, rate: number, seconds: number) {
  const admin = new Admin({ endpoints: url });
  await admin.start();
  await admin.createTopic(topic, queues);
  const status = await admin.topicStatus(topic);
  await admin.shutdown();
  const producer = new Producer({ endpoints: url, group: "bench" });
  const consumer = new PullConsumer({ endpoints: url, group: "bench-lat" });
  await Promise.all([producer.start(), consumer.start()]);
  const samples: number[] = [];
  const warmup = rate * 2;
  const total = warmup + rate * seconds;
  let measureFrom = Infinity;
  let stop = false;
  const readers = status.queues.map(async (q: { queueId: number; maxOffset: number }) => {
    let offset = q.maxOffset;
    while (!stop) {
      const r = await consumer.pull({ topic, queueId: q.queueId, offset, maxCount: 32, pollMs: 1000 });
      const now = performance.now(); // the producer is in this process: one high-resolution clock
      for (const m of r.msgs) {
        const sentAt = Number(m.props!.sentAt);
        if (sentAt >= measureFrom) samples.push(now - sentAt);
      }
      offset = r.nextOffset;
    }
  });
  // Paced by the clock, not by acks: a slow broker shows up as latency, not as a lower rate.
  const started = performance.now();
  let sent = 0;
  let acked = 0;
  while (sent < total) {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    while (sent < Math.min(due, total)) {
      if (sent === warmup) measureFrom = performance.now();
      // Not kept in an array: 60,000 retained promises would put the bench's own GC in the figures.
      producer.send({ topic, body: BODY, props: { sentAt: String(performance.now()) } }).then(() => acked++);
      sent++;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const deadline = Date.now() + 5000;
  while ((acked < total || samples.length < total - warmup) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  stop = true;
  await Promise.all(readers);
  await Promise.all([producer.shutdown(), consumer.shutdown()]);
  const sorted = samples.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9), received: samples.length, sent: total - warmup };
}

/** A process's CPU time so far (user + system), ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
