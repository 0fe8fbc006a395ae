// ActorMQ: the broker as a child process (`dist/broker.mjs` on Node, runtime/main.ts on Deno)
// with its data in the run's temp dir and its default durability, --flush async (acked once
// written, flushed to disk every 500 ms: the same promise as Redis' appendfsync everysec),
// through our client. Consumers are PushConsumers, which ack by committing offsets.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Admin, Producer, PushConsumer } from "../../client/mod.ts";
import { BROKER_LAUNCH_FLAGS, BROKER_V8_FLAGS } from "../../platform/v8-flags.ts";
import { Arrivals, body, bodyIndex, type Child, DelayedRun, Pacer, type Peer, type Server, type Sizes, startChild, treeCpuSeconds, windowed } from "./peer.ts";

const DRAIN_TIMEOUT_MS = 120_000;
const isDeno = "Deno" in globalThis;

/** --cpu-prof DIR of the bench: where the limit is, measured in the broker (written when it stops). */
const profile = () => (process.env.ACTORMQ_BENCH_CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", process.env.ACTORMQ_BENCH_CPU_PROF] : []);

/** ACTORMQ_BENCH_BROKER_ARGS / ACTORMQ_BENCH_NODE_ARGS: more broker / Node flags, to measure a setting against the defaults ("--tail-size 4m"). */
const extraArgs = (name: string) => (process.env[name] ?? "").split(/\s+/).filter(Boolean);

function startBroker(dir: string, flush: "async" | "sync" = "async"): Promise<Child> {
  const [cmd, argv] = isDeno
    ? [process.execPath, ["run", "-A", "--quiet", `--v8-flags=${[...BROKER_V8_FLAGS, ...BROKER_LAUNCH_FLAGS].join(",")}`, "runtime/main.ts"]] // as `deno task start`
    : [process.execPath, [...BROKER_LAUNCH_FLAGS, ...profile(), ...extraArgs("ACTORMQ_BENCH_NODE_ARGS"), "dist/broker.mjs"]]; // as `npm start`
  return startChild(cmd, [...argv, "--port", "0", "--grpc-port", "0", "--data-dir", dir, "--flush", flush, ...extraArgs("ACTORMQ_BENCH_BROKER_ARGS")], { ready: /listening on ws:\/\/\S+\s/ });
}

const urlOf = (b: Child) => /listening on (ws:\/\/\S+)/.exec(b.output())![1];

async function createTopic(url: string, topic: string, queues: number) {
  const admin = new Admin({ endpoints: url });
  await admin.start();
  await admin.createTopic(topic, queues);
  await admin.shutdown();
}

/** `members` PushConsumers in one group, each message handed to `onMessage` and acked (SUCCESS). */
async function group(url: string, groupName: string, topic: string, members: number, onMessage: (b: Uint8Array) => void) {
  const cs = Array.from({ length: members }, () =>
    new PushConsumer({ endpoints: url, group: groupName, subscriptions: { [topic]: "*" }, consumeFrom: "first", handler: (m) => (onMessage(m.body as Uint8Array), "SUCCESS") }));
  await Promise.all(cs.map((c) => c.start()));
  return { stop: () => Promise.all(cs.map((c) => c.shutdown())) };
}

export const actormq: Peer = {
  id: "actormq",
  name: "ActorMQ",
  async start(dir) {
    const broker = await startBroker(join(dir, "main"));
    const url = urlOf(broker);
    const producer = new Producer({ endpoints: url, group: "bench" });
    await producer.start();
    const fill = (topic: string, n: number, inFlight: number) => windowed(n, inFlight, (i) => producer.send({ topic, body: body(i) }));
    const drain = async (topic: string, n: number, members: number) => {
      const arrivals = new Arrivals(n);
      const started = performance.now();
      const g = await group(url, `drain-${topic}`, topic, members, (b) => arrivals.add(bodyIndex(b)));
      await arrivals.wait(`ActorMQ drain of ${topic}`, DRAIN_TIMEOUT_MS);
      const rate = n / ((performance.now() - started) / 1000);
      await g.stop();
      return rate;
    };
    const { version } = JSON.parse(readFileSync("package.json", "utf8"));
    // CPU of the brokers started for one workload, read just before they stop.
    let stoppedCpu = 0;
    const stopCounted = async (b: Child) => {
      stoppedCpu += treeCpuSeconds(b.child.pid!);
      await b.stop();
    };
    const server: Server = {
      version: `ActorMQ ${version} (--flush async)`,
      cpuSeconds: () => treeCpuSeconds(broker.child.pid!) + stoppedCpu,
      async publish(n, inFlight) {
        await createTopic(url, "Bench", 4);
        return fill("Bench", n, inFlight);
      },
      // On a broker of its own with --flush sync: acks after the batch's fdatasync.
      async publishFsync(n, inFlight) {
        const b = await startBroker(join(dir, "sync"), "sync");
        try {
          const url = urlOf(b);
          await createTopic(url, "Bench", 4);
          const p = new Producer({ endpoints: url, group: "bench" });
          await p.start();
          const rate = await windowed(n, inFlight, (i) => p.send({ topic: "Bench", body: body(i) }));
          await p.shutdown();
          return rate;
        } finally {
          await stopCounted(b);
        }
      },
      consume: (n) => drain("Bench", n, 1),
      async latency(s: Sizes) {
        await createTopic(url, "Latency", 4);
        const pacer = new Pacer(s);
        const g = await group(url, "latency", "Latency", 1, (b) => pacer.received(b));
        // A lost send shows up as a missing arrival, which fails the workload.
        const l = await pacer.run((b) => void producer.send({ topic: "Latency", body: b }).catch(() => {}));
        await g.stop();
        return l;
      },
      // On a broker of its own, so its RSS before is that of an idle broker, not one that has
      // just taken 400,000 messages.
      async delayed(s: Sizes) {
        const b = await startBroker(join(dir, "delayed"));
        try {
          const url = urlOf(b);
          await createTopic(url, "Delayed", 4);
          const run = new DelayedRun(s);
          const p = new Producer({ endpoints: url, group: "bench" });
          await p.start();
          const g = await group(url, "delayed", "Delayed", 1, (body) => {
            const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
            run.arrived(v.getUint32(0), v.getFloat64(16));
          });
          await new Promise((r) => setTimeout(r, 1000)); // let start-up garbage go before the first RSS reading
          const d = await run.run(async () => b.rssBytes(), (i, due) => {
            const m = body(i);
            new DataView(m.buffer).setFloat64(16, due);
            return p.send({ topic: "Delayed", body: m, deliverAt: due });
          });
          await Promise.all([g.stop(), p.shutdown()]);
          return d;
        } finally {
          await stopCounted(b);
        }
      },
      async fanout(s: Sizes) {
        await createTopic(url, "Fanout", 8);
        await fill("Fanout", s.fanout, s.inFlight);
        return drain("Fanout", s.fanout, s.consumers);
      },
      async stop() {
        await producer.shutdown().catch(() => {});
        await broker.stop();
      },
    };
    return server;
  },
};
