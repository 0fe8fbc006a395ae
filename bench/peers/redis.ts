// Redis: `redis-server` with the append-only file, fsync every second (the durability of
// ActorMQ's default --flush async), no RDB snapshots, data in the run's temp dir; streams through
// `ioredis` (XADD auto-pipelined; XREADGROUP + XACK), delayed jobs through BullMQ.
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis"; // the named export: Deno sees the CommonJS default as the module object
import { Arrivals, body, bodyIndex, DelayedRun, freePort, Pacer, type Peer, type Server, type Sizes, startChild, treeCpuSeconds, windowed } from "./peer.ts";

const DRAIN_TIMEOUT_MS = 120_000;
const READ_COUNT = 1000; // entries per XREADGROUP, as RabbitMQ's prefetch and JetStream's pull of 1,000

type Entries = [Buffer, [Buffer, Buffer[]][]][] | null;

export const redis: Peer = {
  id: "redis",
  name: "Redis (streams; BullMQ for delays)",
  binary: "redis-server",
  aptPackage: "redis-server",
  notApplicable: { publishFsync: "measured with appendfsync everysec; XADD is acked before the fsync" },
  async start(dir) {
    const port = await freePort();
    const child = await startChild("redis-server", [
      "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no",
      "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
    ], { ready: /Ready to accept connections/ });
    const connection = { host: "127.0.0.1", port };
    const client = new Redis({ ...connection, enableAutoPipelining: true });
    const info = await client.info("server");
    const fill = (key: string, n: number, inFlight: number) => windowed(n, inFlight, (i) => client.xadd(key, "*", "b", Buffer.from(body(i).buffer)));
    /** `members` connections in one consumer group, each reading up to 1,000 new entries a call and XACKing them in one call. */
    const drain = async (key: string, n: number, members: number) => {
      await client.xgroup("CREATE", key, "drain", "0");
      const arrivals = new Arrivals(n);
      let stop = false;
      const started = performance.now();
      const loops = Array.from({ length: members }, async (_, m) => {
        const c = new Redis({ ...connection, enableAutoPipelining: true });
        let acked: Promise<unknown> = Promise.resolve();
        while (!stop && arrivals.count < n) {
          const r = (await c.xreadgroupBuffer("GROUP", "drain", `c${m}`, "COUNT", READ_COUNT, "BLOCK", 200, "STREAMS", key, ">")) as Entries;
          if (!r) continue;
          const entries = r[0][1];
          acked = c.xack(key, "drain", ...entries.map(([id]) => id));
          for (const [, fields] of entries) arrivals.add(bodyIndex(fields[1]));
        }
        await acked; // auto-pipelined: it may not be written yet, and quit would overtake it
        await c.quit();
      });
      await arrivals.wait(`Redis drain of ${key}`, DRAIN_TIMEOUT_MS).finally(() => (stop = true));
      const rate = n / ((performance.now() - started) / 1000);
      await Promise.all(loops);
      return rate;
    };
    const server: Server = {
      version: `Redis ${/redis_version:(\S+)/.exec(info)?.[1]}`,
      cpuSeconds: () => treeCpuSeconds(child.child.pid!),
      publish: (n, inFlight) => fill("bench", n, inFlight),
      consume: (n) => drain("bench", n, 1),
      async latency(s: Sizes) {
        await client.xgroup("CREATE", "latency", "lat", "$", "MKSTREAM");
        const c = new Redis({ ...connection, enableAutoPipelining: true });
        const pacer = new Pacer(s);
        let stop = false;
        let acked: Promise<unknown> = Promise.resolve();
        const loop = (async () => {
          while (!stop) {
            const r = (await c.xreadgroupBuffer("GROUP", "lat", "c0", "COUNT", READ_COUNT, "BLOCK", 200, "STREAMS", "latency", ">")) as Entries;
            if (!r) continue;
            const entries = r[0][1];
            acked = c.xack("latency", "lat", ...entries.map(([id]) => id));
            for (const [, fields] of entries) pacer.received(fields[1]);
          }
        })();
        // A lost XADD shows up as a missing arrival, which fails the workload.
        const l = await pacer.run((b) => void client.xadd("latency", "*", "b", Buffer.from(b.buffer)).catch(() => {}));
        stop = true;
        await loop;
        await acked;
        await c.quit();
        return l;
      },
      // BullMQ delayed jobs: each job holds the 1 KiB body (as a string, BullMQ's data is JSON).
      async delayed(s: Sizes) {
        const queue = new Queue("delayed", { connection });
        const run = new DelayedRun(s);
        const worker = new Worker("delayed", async (job) => run.arrived(job.data.i, job.data.due), { connection, concurrency: 100, removeOnComplete: { count: 0 } });
        await worker.waitUntilReady();
        const filler = "x".repeat(1024);
        const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await client.info("memory"))?.[1]);
        const d = await run.run(usedMemory, (i, due) => queue.add("job", { i, due, body: filler }, { delay: Math.max(0, due - Date.now()), removeOnComplete: true }), () => child.rssBytes());
        await worker.close();
        await queue.close();
        return d;
      },
      async fanout(s: Sizes) {
        await fill("fanout", s.fanout, s.inFlight);
        return drain("fanout", s.fanout, s.consumers);
      },
      async stop() {
        await client.quit().catch(() => {});
        await child.stop();
      },
    };
    return server;
  },
};
