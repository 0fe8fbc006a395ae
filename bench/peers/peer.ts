// What every broker in the peers benchmark provides, and the parts they share: the workload
// sizes, the 1 KiB body (which carries its own index and send time, so every peer is measured
// the same way), pacing at a steady rate, and the child processes the bench starts and stops.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { percentile } from "../stats.ts";

export interface Sizes {
  /** Messages published, then drained by one consumer. */
  publish: number;
  /** Unacknowledged publishes at once. */
  inFlight: number;
  /** Steady rate and measured seconds of the latency workload (after `warmupSeconds` not counted). */
  rate: number;
  seconds: number;
  warmupSeconds: number;
  /** Delayed messages, each due a random time within `delayWindowMs` of being sent. */
  delayed: number;
  delayWindowMs: number;
  /** Messages drained by the 4-consumer group. */
  fanout: number;
  consumers: number;
  /**
   * How long the servers sit idle after the last delayed message before memory is read again:
   * what stays after that is what a server keeps, not what it has not yet given back (ActorMQ's
   * --idle-gc gives memory back 3, 6 and 9 s into an idle spell, most of it at the third).
   */
  settleMs: number;
}

export const FULL: Sizes = { publish: 200_000, inFlight: 1000, rate: 5000, seconds: 10, warmupSeconds: 2, delayed: 20_000, delayWindowMs: 10_000, fanout: 100_000, consumers: 4, settleMs: 15_000 };
export const QUICK: Sizes = { publish: 2000, inFlight: 1000, rate: 1000, seconds: 1, warmupSeconds: 0.5, delayed: 1000, delayWindowMs: 1000, fanout: 2000, consumers: 4, settleMs: 0 };

export interface Latency { p50: number; p99: number; p999: number }
export interface Delayed {
  p50: number;
  p99: number;
  max: number;
  bytesPerPending: number;
  pending: number;
  /** The same memory difference once every message was delivered and the server sat idle `settleMs`, per message sent: what was not per-pending state. */
  bytesAfterDelivery: number;
  /** The same, read the moment the last message arrived. */
  bytesAtLastDelivery: number;
  /**
   * The two figures above from the server's RSS (/proc), for a peer whose `memory` is not RSS:
   * Redis reports `used_memory`, what its allocator hands out, without what the allocator keeps.
   */
  rssPerPending?: number;
  rssAfterDelivery?: number;
}

/** One started broker: each workload uses its own fresh stream/queue/topic on it. */
export interface Server {
  /** As the running server reports it. */
  version: string;
  /** CPU seconds the server's processes have used so far (read around each workload). */
  cpuSeconds(): number;
  /** msg/s of `n` publishes with `inFlight` unacknowledged. */
  publish(n: number, inFlight: number): Promise<number>;
  /**
   * msg/s of publish() with acks only once the message is fsynced: for ActorMQ its --flush sync
   * on a broker of its own; for a peer whose publish() already acks after fsync (RabbitMQ's
   * confirms), the same figure. Absent: the peer acks before fsync (n/a).
   */
  publishFsync?(n: number, inFlight: number, publishFigure: number): Promise<number>;
  /** msg/s of one consumer draining (and acknowledging) what publish() wrote. */
  consume(n: number): Promise<number>;
  latency(s: Sizes): Promise<Latency>;
  /** Absent: the peer has no per-message delivery time (the table says n/a, and why). */
  delayed?(s: Sizes): Promise<Delayed>;
  /** msg/s of `s.consumers` consumers sharing one group draining `s.fanout` messages. */
  fanout(s: Sizes): Promise<number>;
  stop(): Promise<void>;
}

export interface Peer {
  id: string;
  name: string;
  /** The executable it needs and the Debian package that has it (none for ActorMQ). */
  binary?: string;
  aptPackage?: string;
  /** Why a workload is n/a for this peer. */
  notApplicable?: Partial<Record<"delayed" | "publishFsync", string>>;
  start(dir: string): Promise<Server>;
}

const BODY_SIZE = 1024;

/** A 1 KiB body: index (u32 at 0) and send time (f64 performance.now() at 8), the rest filler. */
export function body(index: number, sentAt = performance.now()): Uint8Array {
  const b = new Uint8Array(BODY_SIZE).fill(42);
  const v = new DataView(b.buffer);
  v.setUint32(0, index);
  v.setFloat64(8, sentAt);
  return b;
}

export function bodyIndex(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

export function bodySentAt(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat64(8);
}

/** Counts distinct indices seen (a redelivery is not progress); resolves when all `n` have been. */
export class Arrivals {
  private seen: Uint8Array;
  count = 0;
  readonly done: Promise<void>;
  private resolve!: () => void;
  constructor(readonly n: number) {
    this.seen = new Uint8Array(n);
    this.done = new Promise((r) => (this.resolve = r));
    if (n === 0) this.resolve();
  }
  add(index: number): void {
    if (index < this.n && !this.seen[index]) {
      this.seen[index] = 1;
      if (++this.count === this.n) this.resolve();
    }
  }
  /** Waits for every arrival, failing after `timeoutMs` with how many came. */
  async wait(what: string, timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: ${this.count} of ${this.n} arrived in ${timeoutMs} ms`)), timeoutMs)));
    try {
      await Promise.race([this.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Keeps `inFlight` calls of `send(i)` outstanding until `n` are done: msg/s. */
export async function windowed(n: number, inFlight: number, send: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < n) await send(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
  return n / ((performance.now() - started) / 1000);
}

/**
 * Latency samples of a steady-rate run: `send(i, body)` is called on the clock (not on acks, so
 * a slow broker shows as latency, not as a lower rate); the consumer calls `received(body)`.
 * Messages sent during the warm-up are not counted.
 */
export class Pacer {
  private samples: number[] = [];
  private measureFrom = Infinity;
  private arrivals: Arrivals;
  constructor(readonly s: Sizes) {
    this.arrivals = new Arrivals(this.total);
  }
  get total(): number {
    return Math.round(this.s.rate * (this.s.warmupSeconds + this.s.seconds));
  }
  received(b: Uint8Array): void {
    const now = performance.now(); // the producer is in this process: one high-resolution clock
    const sentAt = bodySentAt(b);
    if (sentAt >= this.measureFrom) this.samples.push(now - sentAt);
    this.arrivals.add(bodyIndex(b));
  }
  async run(send: (b: Uint8Array) => void): Promise<Latency> {
    const warmup = Math.round(this.s.rate * this.s.warmupSeconds);
    const started = performance.now();
    let sent = 0;
    while (sent < this.total) {
      const due = Math.floor(((performance.now() - started) / 1000) * this.s.rate);
      while (sent < Math.min(due, this.total)) {
        if (sent === warmup) this.measureFrom = performance.now();
        send(body(sent));
        sent++;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await this.arrivals.wait("latency", 10_000);
    const sorted = this.samples.sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9) };
  }
}

/**
 * The delayed-delivery workload around a peer's own send and receive: message i is due a random
 * time within the window after it is sent; lateness = arrival - due (Date.now(): the broker's
 * clock is the same machine's). Memory is read before the first send and right after the last,
 * and divided by the messages still pending then; again as the last message arrives, and once
 * more after the server sat idle `settleMs`.
 */
export class DelayedRun {
  private lateness: number[] = [];
  private arrivals: Arrivals;
  constructor(readonly s: Sizes) {
    this.arrivals = new Arrivals(s.delayed);
  }
  /** The consumer reports each arrival with the due time it was sent with. */
  arrived(index: number, due: number): void {
    if (index < this.s.delayed && this.arrivals.count < this.s.delayed) this.lateness.push(Date.now() - due);
    this.arrivals.add(index);
  }
  async run(memory: () => Promise<number>, send: (i: number, due: number) => Promise<unknown>, rss?: () => number): Promise<Delayed> {
    const before = await memory();
    const rssBefore = rss?.();
    await windowed(this.s.delayed, this.s.inFlight, (i) => send(i, Math.round(Date.now() + Math.random() * this.s.delayWindowMs)));
    const after = await memory();
    const rssAfter = rss?.();
    const pending = this.s.delayed - this.arrivals.count;
    await this.arrivals.wait("delayed", this.s.delayWindowMs + 30_000);
    const atLast = await memory();
    await new Promise((r) => setTimeout(r, this.s.settleMs));
    const delivered = await memory();
    const rssDelivered = rss?.();
    const sorted = this.lateness.sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1],
      bytesPerPending: (after - before) / pending,
      pending,
      bytesAfterDelivery: (delivered - before) / this.s.delayed,
      bytesAtLastDelivery: (atLast - before) / this.s.delayed,
      ...(rssBefore === undefined ? {} : { rssPerPending: (rssAfter! - rssBefore) / pending, rssAfterDelivery: (rssDelivered! - rssBefore) / this.s.delayed }),
    };
  }
}

/** A free TCP port on 127.0.0.1 (for servers that cannot be told to pick one and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Child {
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  rssBytes(): number;
}

const started = new Set<ChildProcess>();

/** SIGKILLs every server this bench started that is still running (on a crash or Ctrl-C). */
export function killStarted(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}

/** The end of a server's output on one line, for the table's "not run" reason. */
const lastWords = (out: string) => out.trim().split("\n").slice(-3).join(" / ").slice(-300) || "(no output)";

/** Starts a server process and waits until its output matches `ready`. */
export function startChild(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; ready: RegExp; timeoutMs?: number }): Promise<Child> {
  const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
  started.add(child);
  let out = "";
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once("close", () => (started.delete(child), resolve())));
  // A server that dies under load is a result too: say so, with its last words.
  exited.then(() => {
    if (!stopping && ready) console.error(`${cmd} exited (${child.exitCode ?? child.signalCode}) during the bench:\n${out.slice(-2000)}`);
  });
  let ready = false;
  const handle: Child = {
    child,
    output: () => out,
    async stop(graceMs = 30_000) {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
    rssBytes: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? NaN) * 1024,
  };
  return new Promise((resolve, reject) => {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      handle.stop(2000);
      reject(new Error(`${cmd} did not start in ${timeoutMs} ms: ${lastWords(out)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      if (!ready && opts.ready.test(out)) {
        ready = true;
        clearTimeout(timer);
        resolve(handle);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${cmd} exited (${child.exitCode ?? child.signalCode}) before it was ready: ${lastWords(out)}`));
    });
  });
}

/**
 * CPU seconds (user + system) used so far by a process and all its descendants, from /proc (so
 * RabbitMQ's Erlang VM under its start script counts). NaN where /proc is not there.
 */
export function treeCpuSeconds(pid: number): number {
  try {
    const stats = new Map<number, { ppid: number; ticks: number }>();
    for (const d of readdirSync("/proc")) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const s = readFileSync(`/proc/${d}/stat`, "utf8");
        // Fields after the parenthesised command name: state ppid ... utime(14) stime(15).
        const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
        stats.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
      } catch {
        // gone meanwhile
      }
    }
    let ticks = 0;
    const todo = [pid];
    while (todo.length) {
      const p = todo.pop()!;
      ticks += stats.get(p)?.ticks ?? 0;
      for (const [child, st] of stats) if (st.ppid === p) todo.push(child);
    }
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}
