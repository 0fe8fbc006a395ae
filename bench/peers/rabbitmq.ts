// RabbitMQ: its own node (name, ports, epmd, mnesia and logs all in the run's temp dir, so it
// neither meets nor disturbs a system RabbitMQ), through `amqplib`. Durable classic queues,
// persistent messages, publisher confirms (RabbitMQ confirms a persistent message on a durable
// queue once it is on disk), consumers with prefetch 1,000 acking each message.
import amqp from "amqplib";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Arrivals, body, bodyIndex, type Child, freePort, Pacer, type Peer, type Server, type Sizes, startChild, treeCpuSeconds, windowed } from "./peer.ts";

const DRAIN_TIMEOUT_MS = 120_000;
// The Debian wrapper in /usr/sbin switches to the rabbitmq user (and its fixed directories); as
// that user the node cannot create its feature-flags file in our temp dir (mode 0700, ours), and
// fails with `failed_to_create_feature_flags_file_directory`. The script it calls runs the node as
// whoever we are, with the environment below. Looked up at start: the package may have been
// installed by this very bench after this module was loaded.
const DEBIAN_SCRIPT = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const script = () => (existsSync(DEBIAN_SCRIPT) ? DEBIAN_SCRIPT : "rabbitmq-server");

type Channel = Awaited<ReturnType<Awaited<ReturnType<typeof amqp.connect>>["createChannel"]>>;

export const rabbitmq: Peer = {
  id: "rabbitmq",
  name: "RabbitMQ",
  binary: "rabbitmq-server",
  aptPackage: "rabbitmq-server",
  notApplicable: { delayed: "no per-message delivery time without the delayed-message plugin (not in Debian)" },
  async start(dir) {
    const [amqpPort, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
    mkdirSync(join(dir, "home"), { recursive: true });
    writeFileSync(join(dir, "rabbitmq-env.conf"), "");
    writeFileSync(join(dir, "rabbitmq.conf"), "");
    writeFileSync(join(dir, "enabled_plugins"), "[].\n");
    const env = {
      HOME: join(dir, "home"), // the Erlang cookie
      ERL_EPMD_PORT: String(epmdPort),
      RABBITMQ_NODENAME: `actormq-bench-${process.pid}-${amqpPort}@localhost`,
      RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
      RABBITMQ_LOG_BASE: join(dir, "log"),
      RABBITMQ_LOGS: "-",
      RABBITMQ_PID_FILE: join(dir, "rabbitmq.pid"),
      RABBITMQ_CONF_ENV_FILE: join(dir, "rabbitmq-env.conf"),
      RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    };
    // An epmd of our own on its own port: the node registers there, and it goes when we stop it.
    const epmd = await startChild("epmd", ["-port", String(epmdPort), "-d"], { ready: /epmd running/, env });
    let node: Child;
    try {
      node = await startChild(script(), [], { env, ready: /Server startup complete/, timeoutMs: 60_000 });
    } catch (e) {
      await epmd.stop(2000);
      throw e;
    }
    const url = `amqp://guest:guest@127.0.0.1:${amqpPort}`;
    const conn = await amqp.connect(url);
    const confirm = await conn.createConfirmChannel();
    const queue = async (name: string) => {
      await confirm.assertQueue(name, { durable: true });
      return name;
    };
    /** Publisher confirms, `inFlight` unconfirmed at most. */
    const fill = (name: string, n: number, inFlight: number) =>
      windowed(n, inFlight, (i) => new Promise<void>((resolve, reject) => {
        confirm.sendToQueue(name, Buffer.from(body(i).buffer), { persistent: true }, (err) => (err ? reject(err) : resolve()));
      }));
    /** `members` connections consuming one queue with prefetch 1,000, acking each message. */
    const drain = async (name: string, n: number, members: number) => {
      const arrivals = new Arrivals(n);
      const started = performance.now();
      const conns = await Promise.all(Array.from({ length: members }, () => amqp.connect(url)));
      await Promise.all(conns.map(async (c) => {
        const ch: Channel = await c.createChannel();
        await ch.prefetch(1000);
        await ch.consume(name, (m) => {
          if (!m) return;
          ch.ack(m);
          arrivals.add(bodyIndex(m.content));
        }, { noAck: false });
      }));
      await arrivals.wait(`RabbitMQ drain of ${name}`, DRAIN_TIMEOUT_MS);
      const rate = n / ((performance.now() - started) / 1000);
      await Promise.all(conns.map((c) => c.close()));
      return rate;
    };
    const version = String(conn.connection.serverProperties?.version ?? "?");
    const server: Server = {
      version: `RabbitMQ ${version}`,
      cpuSeconds: () => treeCpuSeconds(node.child.pid!),
      async publish(n, inFlight) {
        return fill(await queue("bench"), n, inFlight);
      },
      // A confirm for a persistent message on a durable queue comes once it is on disk.
      publishFsync: async (_n, _inFlight, published) => published,
      consume: (n) => drain("bench", n, 1),
      async latency(s: Sizes) {
        const name = await queue("latency");
        const c = await amqp.connect(url);
        const ch: Channel = await c.createChannel();
        await ch.prefetch(1000);
        const pacer = new Pacer(s);
        await ch.consume(name, (m) => {
          if (!m) return;
          ch.ack(m);
          pacer.received(m.content);
        }, { noAck: false });
        const l = await pacer.run((b) => confirm.sendToQueue(name, Buffer.from(b.buffer), { persistent: true }));
        await c.close();
        return l;
      },
      async fanout(s: Sizes) {
        const name = await queue("fanout");
        await fill(name, s.fanout, s.inFlight);
        return drain(name, s.fanout, s.consumers);
      },
      async stop() {
        await conn.close().catch(() => {});
        await node.stop(); // the script turns SIGTERM into `rabbitmqctl stop` for this node
        await epmd.stop(2000);
      },
    };
    return server;
  },
};
