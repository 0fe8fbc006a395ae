// RocketMQ's official Node.js client against a cluster: a name server process and two broker
// processes, all serving gRPC. The clients are given only the name server's gRPC endpoint; its
// routes send them to both brokers' endpoints, as RocketMQ 5's local-mode proxies would. Long
// polls last at most 2 s (--max-poll): a PushConsumer's shutdown waits for its receives in flight.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin } from "../client/mod.ts";
import { until } from "./helpers/broker.ts";
import { type Cluster, startCluster } from "./helpers/cluster.ts";
import { clientErrors, ConsumeResult, exitWhenIdle, grpcPortOf, logger, type MessageView, Producer, PushConsumer, rawGrpc, SimpleConsumer, stopBroker } from "./helpers/rocketmq.ts";


const cluster: Cluster = await startCluster({ brokers: 2, namesrvArgs: ["--grpc-port", "any"], brokerArgs: () => ["--grpc-port", "any", "--max-poll", "2000"] });
await until("the name server's gRPC endpoint", () => grpcPortOf(cluster.namesrv.output()) !== undefined);
/** The gRPC ports each process bound: the name server's, then the brokers'. */
const ports = [cluster.namesrv, ...cluster.brokers.map((b) => b.proc)].map((p) => grpcPortOf(p.output())!);
const access = `127.0.0.1:${ports[0]}`;
const admin = new Admin({ endpoints: cluster.url });
await admin.start();
for (const t of ["ClSend", "ClPush", "ClRecall"]) await admin.createTopic(t, 2);
/** Each broker's admin: what it stores. */
const onBroker = await Promise.all(cluster.brokers.map(async (b) => {
  const a = new Admin({ endpoints: b.proc.url });
  await a.start();
  return a;
}));
const producer = new Producer({ endpoints: access, namespace: "", topics: ["ClSend", "ClPush", "ClRecall"], logger });
await producer.startup();
const closing: { shutdown(): Promise<unknown> }[] = [producer, admin, ...onBroker];

async function storedOn(i: number, topic: string): Promise<number> {
  return (await onBroker[i].topicStatus(topic)).queues.reduce((n, q) => n + q.maxOffset - q.minOffset, 0);
}

test("routes from the name server name both brokers' gRPC endpoints, and sends land on both", async () => {
  const raw = rawGrpc(access, "cl-route");
  const r = await raw.unary("QueryRoute", { topic: { name: "ClSend" }, endpoints: { scheme: "IPv4", addresses: [{ host: "127.0.0.1", port: ports[0] }] } });
  raw.close();
  const endpoints = new Map<string, string>();
  for (const q of r.message_queues) endpoints.set(q.broker.name, `${q.broker.endpoints.addresses[0].host}:${q.broker.endpoints.addresses[0].port}`);
  assert.equal(Object.fromEntries(endpoints), { b1: `127.0.0.1:${ports[1]}`, b2: `127.0.0.1:${ports[2]}` });
  assert.is(r.message_queues.length, 4, "2 queues on each broker");

  const ids = [];
  for (let i = 0; i < 20; i++) ids.push((await producer.send({ topic: "ClSend", body: Buffer.from(`m${i}`) })).messageId);
  const [a, b] = [await storedOn(0, "ClSend"), await storedOn(1, "ClSend")];
  assert.is(a + b, 20);
  assert.ok(a > 0 && b > 0, `both brokers store some (b1 ${a}, b2 ${b})`);

  const c = new SimpleConsumer({ endpoints: access, namespace: "", consumerGroup: "cl-simple", subscriptions: new Map([["ClSend", "*"]]), awaitDuration: 500, logger });
  await c.startup();
  closing.push(c);
  const got = new Set<string>();
  await until("all 20 received through the name server's routes", async () => {
    for (const m of await c.receive(16, 30_000)) {
      got.add(m.messageId);
      await c.ack(m);
    }
    return got.size === 20;
  }, 20_000, 0);
  assert.equal([...got].sort(), [...ids].sort());
});

test("PushConsumer given the name server: assignments name both brokers; every message once", async () => {
  const counts = new Map<string, number>();
  const c = new PushConsumer({
    endpoints: access,
    namespace: "",
    consumerGroup: "cl-push",
    subscriptions: new Map([["ClPush", "*"]]),
    logger,
    messageListener: {
      consume(m: MessageView) {
        counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1);
        return ConsumeResult.SUCCESS;
      },
    },
  });
  await c.startup();
  closing.push(c);
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push((await producer.send({ topic: "ClPush", body: Buffer.from(`p${i}`) })).messageId);
  assert.ok(await storedOn(0, "ClPush") > 0 && await storedOn(1, "ClPush") > 0, "both brokers hold some");
  await until("all 20 consumed", () => ids.every((id) => counts.has(id)), 20_000);
  assert.equal([...counts.values()].filter((n) => n !== 1), [], "none twice");
});

test("recallMessage through the name server reaches the broker that holds the message", async () => {
  const due = Date.now() + 1500;
  const sent = [];
  for (let i = 0; i < 4; i++) sent.push(await producer.send({ topic: "ClRecall", body: Buffer.from(`r${i}`), deliveryTimestamp: new Date(due) }));
  const brokers = new Set(sent.map((s) => /_(b\d)$/.exec(s.recallHandle!)?.[1]));
  assert.equal([...brokers].sort(), ["b1", "b2"], "handles of both brokers");
  for (const s of sent.slice(0, 2)) assert.is((await producer.recallMessage("ClRecall", s.recallHandle!)).messageId, s.messageId);
  await until("the two not recalled delivered", async () => (await storedOn(0, "ClRecall")) + (await storedOn(1, "ClRecall")) >= 2, 10_000);
  assert.is((await storedOn(0, "ClRecall")) + (await storedOn(1, "ClRecall")), 2, "the recalled two never came");
});

test.after(async () => {
  await Promise.allSettled(closing.map((c) => c.shutdown()));
  // SIGTERM first: the brokers end the clients' streams with a status (a SIGKILL resets them,
  // which the official client throws from a stream it no longer listens to).
  await Promise.all([cluster.namesrv, ...cluster.brokers.map((b) => b.proc)].map(stopBroker));
  await cluster.stop();
  if (clientErrors.length) console.log("client errors:", clientErrors.slice(0, 5));
  exitWhenIdle();
});
test.run();
