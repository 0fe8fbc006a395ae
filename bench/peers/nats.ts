// NATS JetStream: `nats-server -js` with file storage in the run's temp dir, through the `nats`
// client. Publishes wait for JetStream's publish ack (the message is in the stream's file);
// consumers are durable pull consumers with explicit acks.
import { AckPolicy, connect, StorageType } from "nats";
import { join } from "node:path";
import { Arrivals, body, bodyIndex, Pacer, type Peer, type Server, type Sizes, startChild, treeCpuSeconds, windowed } from "./peer.ts";

const DRAIN_TIMEOUT_MS = 120_000;

export const nats: Peer = {
  id: "nats",
  name: "NATS JetStream",
  binary: "nats-server",
  aptPackage: "nats-server",
  notApplicable: {
    delayed: "no per-message delivery time in JetStream 2.9",
    publishFsync: "JetStream acks once written, and fsyncs on a timer (sync_interval, 2 min by default)",
  },
  async start(dir) {
    // -p -1: a random port, which the server logs.
    const child = await startChild("nats-server", ["-a", "127.0.0.1", "-p", "-1", "-js", "-sd", join(dir, "jetstream")], { ready: /Server is ready/ });
    const port = Number(/Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(child.output())?.[1]);
    const servers = `127.0.0.1:${port}`;
    const nc = await connect({ servers });
    const jsm = await nc.jetstreamManager();
    const js = nc.jetstream();
    const stream = async (name: string) => {
      await jsm.streams.add({ name, subjects: [name], storage: StorageType.File });
      return name;
    };
    /** `members` connections sharing one durable pull consumer, each pulling up to 1,000 at a time; acks each message. */
    const drain = async (name: string, n: number, members: number) => {
      await jsm.consumers.add(name, { durable_name: "drain", ack_policy: AckPolicy.Explicit, max_ack_pending: 1000 * members });
      const arrivals = new Arrivals(n);
      const started = performance.now();
      const conns = await Promise.all(Array.from({ length: members }, () => connect({ servers })));
      const iters = await Promise.all(conns.map(async (c) => (await c.jetstream().consumers.get(name, "drain")).consume({ max_messages: 1000 })));
      const loops = iters.map(async (it) => {
        for await (const m of it) {
          m.ack();
          arrivals.add(bodyIndex(m.data));
        }
      });
      await arrivals.wait(`NATS drain of ${name}`, DRAIN_TIMEOUT_MS);
      const rate = n / ((performance.now() - started) / 1000);
      for (const it of iters) it.stop();
      await Promise.all(loops);
      await Promise.all(conns.map((c) => c.drain()));
      return rate;
    };
    const fill = (name: string, n: number, inFlight: number) => windowed(n, inFlight, (i) => js.publish(name, body(i)));
    const server: Server = {
      version: `nats-server ${nc.info?.version}`,
      cpuSeconds: () => treeCpuSeconds(child.child.pid!),
      async publish(n, inFlight) {
        return fill(await stream("BENCH"), n, inFlight);
      },
      consume: (n) => drain("BENCH", n, 1),
      async latency(s: Sizes) {
        const name = await stream("LATENCY");
        await jsm.consumers.add(name, { durable_name: "lat", ack_policy: AckPolicy.Explicit, max_ack_pending: 1000 });
        const sub = await connect({ servers });
        const it = await (await sub.jetstream().consumers.get(name, "lat")).consume({ max_messages: 1000 });
        const pacer = new Pacer(s);
        const loop = (async () => {
          for await (const m of it) {
            m.ack();
            pacer.received(m.data);
          }
        })();
        // A lost publish shows up as a missing arrival, which fails the workload.
        const l = await pacer.run((b) => void js.publish(name, b).catch(() => {}));
        it.stop();
        await loop;
        await sub.drain();
        return l;
      },
      async fanout(s: Sizes) {
        const name = await stream("FANOUT");
        await fill(name, s.fanout, s.inFlight);
        return drain(name, s.fanout, s.consumers);
      },
      async stop() {
        await nc.drain().catch(() => {});
        await child.stop();
      },
    };
    return server;
  },
};
