// RocketMQ's official Node.js client's consumers against a real ActorMQ broker process over gRPC:
// SimpleConsumer receive + ack, redelivery after the invisible duration (deliveryAttempt 2),
// changeInvisibleDuration; PushConsumer standard and FIFO receiving every message once, a failing
// listener's message retried and then dead-lettered; messages crossing between ActorMQ's SDK and
// the RocketMQ client in both directions with body, tag, keys and properties intact.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer as AmqProducer, PullConsumer } from "../client/mod.ts";
import { killSpawned, until } from "./helpers/broker.ts";
import { rawSocket } from "./helpers/raw-socket.ts";
import { encode } from "../protocol/mod.ts";
import { clientErrors, ConsumeResult, logger, Producer, PushConsumer, SimpleConsumer, exitWhenIdle, spawnGrpcBroker, stopBroker, text, type MessageView } from "./helpers/rocketmq.ts";

const broker = await spawnGrpcBroker();
const admin = new Admin({ endpoints: broker.url });
await admin.start();
for (const t of ["RcSimple", "RcRedeliver", "RcPush", "RcPushFail", "RcFifo", "RcBack"]) await admin.createTopic(t, 4);
const amq = new AmqProducer({ endpoints: broker.url });
await amq.start();
const reader = new PullConsumer({ endpoints: broker.url, group: "rc-reader" });
await reader.start();
const rmqProducer = new Producer({ endpoints: broker.grpc, namespace: "", topics: ["RcPush", "RcPushFail", "RcFifo", "RcBack"], logger });
await rmqProducer.startup();
const closing: { shutdown(): Promise<unknown> }[] = [admin, amq, reader, rmqProducer];

async function simple(group: string, topic: string, awaitDuration = 1000) {
  const c = new SimpleConsumer({ endpoints: broker.grpc, namespace: "", consumerGroup: group, subscriptions: new Map([[topic, "*"]]), awaitDuration, logger });
  await c.startup();
  closing.push(c);
  return c;
}

async function push(group: string, topic: string, consume: (m: MessageView) => unknown) {
  const c = new PushConsumer({
    endpoints: broker.grpc,
    namespace: "",
    consumerGroup: group,
    subscriptions: new Map([[topic, "*"]]),
    logger,
    messageListener: { consume: async (m: MessageView) => ((await consume(m)) === false ? ConsumeResult.FAILURE : ConsumeResult.SUCCESS) },
  });
  await c.startup();
  closing.push(c);
  return c;
}

test("ActorMQ SDK -> RocketMQ SimpleConsumer: all four queues, body, tag, keys, properties intact; ack settles", async () => {
  const sent = [];
  for (let q = 0; q < 4; q++) {
    const onQueue = (queues: { queueId: number }[]) => queues.find((x) => x.queueId === q)!;
    sent.push(await amq.send({ topic: "RcSimple", body: new Uint8Array([q, 200, 7]), tags: `T${q}`, keys: [`key-${q}`, "shared"], props: { origin: "actormq", q: String(q) } }, onQueue as never));
  }
  const c = await simple("rc-simple", "RcSimple");
  const got: MessageView[] = [];
  await until("every message", async () => {
    got.push(...await c.receive(16, 30_000));
    return got.length >= 4;
  }, 15_000);
  got.sort((a, b) => a.body[0] - b.body[0]);
  assert.equal(got.map((m) => m.messageId), sent.map((s) => s.msgId));
  for (let q = 0; q < 4; q++) {
    const m = got[q];
    assert.equal([...m.body], [q, 200, 7]);
    assert.is(m.tag, `T${q}`);
    assert.equal(m.keys, [`key-${q}`, "shared"]);
    assert.equal(Object.fromEntries(m.properties), { origin: "actormq", q: String(q) });
    assert.is(m.deliveryAttempt, 1);
    assert.ok(m.bornTimestamp instanceof Date);
    await c.ack(m);
  }
  assert.equal(await c.receive(16, 1000), [], "nothing again once acked");
});

test("SimpleConsumer: unacked comes back after its invisible duration with deliveryAttempt 2; changeInvisibleDuration", async () => {
  const sent = await amq.send({ topic: "RcRedeliver", body: "once more" });
  const c = await simple("rc-redeliver", "RcRedeliver", 3000);
  const [first] = await c.receive(1, 1000);
  assert.is(first.messageId, sent.msgId);
  assert.is(first.deliveryAttempt, 1);
  const [second] = await c.receive(1, 1000);
  assert.is(second.messageId, sent.msgId, "the same message, visible again");
  assert.is(second.deliveryAttempt, 2);
  let stale = "";
  await c.ack(first).catch((e: Error) => (stale = e.message));
  assert.match(stale, /expired|INVALID_RECEIPT_HANDLE|receipt handle/i, "the first delivery's handle expired with it");

  await c.changeInvisibleDuration(second, 5000); // refreshes its receipt handle in place
  const other = await simple("rc-redeliver", "RcRedeliver", 1500);
  assert.equal(await other.receive(1, 1000), [], "hidden for longer");
  await c.ack(second);
  assert.equal(await other.receive(1, 1000), [], "acked with the refreshed handle: never again");
});

test("PushConsumer: every message once, from the RocketMQ producer and ActorMQ's SDK alike", async () => {
  const counts = new Map<string, number>();
  await push("rc-push", "RcPush", (m) => counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1));
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push((await rmqProducer.send({ topic: "RcPush", body: Buffer.from(`r${i}`) })).messageId);
  for (let i = 0; i < 10; i++) ids.push((await amq.send({ topic: "RcPush", body: `a${i}` })).msgId);
  await until("all 20 consumed", () => ids.every((id) => counts.has(id)), 20_000);
  assert.equal([...counts.values()].filter((n) => n !== 1), [], "none twice");
});

test("PushConsumer: a failing listener's message is retried, then dead-lettered after the group's max attempts", async () => {
  await admin.updateSubscriptionGroup("rc-push-fail", { maxReconsumeTimes: 2 });
  const attempts: number[] = [];
  let okId = "";
  const fine: string[] = [];
  await push("rc-push-fail", "RcPushFail", (m) => {
    if (text(m.body) === "poison") {
      attempts.push(m.deliveryAttempt ?? 0);
      return false;
    }
    fine.push(m.messageId);
  });
  const poison = await rmqProducer.send({ topic: "RcPushFail", body: Buffer.from("poison"), keys: ["pk"] });
  okId = (await rmqProducer.send({ topic: "RcPushFail", body: Buffer.from("fine") })).messageId;
  const dead = await until("the poison message in %DLQ%rc-push-fail", async () => {
    try {
      return (await reader.pull({ topic: "%DLQ%rc-push-fail", queueId: 0, offset: 0 })).msgs[0];
    } catch {
      return undefined;
    }
  }, 20_000);
  assert.is(dead.id, poison.messageId);
  assert.equal(dead.keys, ["pk"]);
  assert.is(dead.props?.ORIGIN_TOPIC, "RcPushFail");
  assert.equal(attempts, [1, 2, 3], "max attempts = retries + 1, each one higher");
  assert.equal(fine, [okId], "the other message consumed once");
});

test("PushConsumer FIFO: a message group in order; a failed message retried in place, a poison one dead-lettered, the next follows", async () => {
  await admin.updateSubscriptionGroup("rc-fifo", { orderly: true, maxReconsumeTimes: 2 });
  const seen = new Map<string, string[]>();
  let failedOnce = false;
  await push("rc-fifo", "RcFifo", (m) => {
    const body = text(m.body);
    const list = seen.get(m.messageGroup ?? "") ?? [];
    list.push(body);
    seen.set(m.messageGroup ?? "", list);
    if (body === "g1-2" && !failedOnce) return (failedOnce = true) && false;
    if (body === "g2-poison") return false;
  });
  for (let i = 0; i < 5; i++) {
    await rmqProducer.send({ topic: "RcFifo", messageGroup: "g1", body: Buffer.from(`g1-${i}`) });
    await rmqProducer.send({ topic: "RcFifo", messageGroup: "g2", body: Buffer.from(i === 1 ? "g2-poison" : `g2-${i}`) });
  }
  await until("both groups done", () => (seen.get("g1")?.includes("g1-4") && seen.get("g2")?.includes("g2-4")), 20_000);
  assert.equal(seen.get("g1"), ["g1-0", "g1-1", "g1-2", "g1-2", "g1-3", "g1-4"], "in order, the failed one again in place");
  assert.equal(seen.get("g2"), ["g2-0", "g2-poison", "g2-poison", "g2-poison", "g2-2", "g2-3", "g2-4"], "the poison one tried 3 times, then the rest in order");
  const dead = await until("the poison message in %DLQ%rc-fifo", async () => {
    try {
      return (await reader.pull({ topic: "%DLQ%rc-fifo", queueId: 0, offset: 0 })).msgs[0];
    } catch {
      return undefined;
    }
  }, 10_000);
  assert.is(text(dead.body as Uint8Array), "g2-poison");
});

test("a RocketMQ consumer is a session of the broker: a POP member of its group while it runs (not among the members that share queues), gone once it shuts down", async () => {
  const c = new SimpleConsumer({ endpoints: broker.grpc, namespace: "", consumerGroup: "rc-member", subscriptions: new Map([["RcSimple", "T1 || T2"]]), awaitDuration: 1000, logger });
  await c.startup();
  const member = await until("the consumer listed as a member", async () => (await admin.consumerProgress("rc-member")).members.find((m) => m.clientId === c.clientId));
  assert.is(member.model, "pop");
  assert.equal(member.subscriptions, { RcSimple: "T1 || T2" });
  const ws = await rawSocket(broker.url);
  ws.send(encode({ id: 1, op: "consumerList", group: "rc-member" }));
  assert.equal((await ws.next()).clientIds, [], "pull consumers rebalance over the other members only");
  ws.close();
  await c.shutdown();
  assert.equal((await admin.consumerProgress("rc-member")).members, [], "NotifyClientTermination took it out of its group at once");
});

test("RocketMQ Producer -> ActorMQ SDK: body, tag, keys and properties intact", async () => {
  const r = await rmqProducer.send({ topic: "RcBack", tag: "TagZ", keys: ["x1", "x2"], body: Buffer.from([9, 8, 7, 0]), properties: new Map([["a", "1"], ["b", "two"]]) });
  let m;
  for (let q = 0; q < 4 && !m; q++) m = (await reader.pull({ topic: "RcBack", queueId: q, offset: 0 })).msgs[0];
  assert.ok(m);
  assert.is(m!.id, r.messageId);
  assert.equal([...(m!.body as Uint8Array)], [9, 8, 7, 0]);
  assert.is(m!.tags, "TagZ");
  assert.equal(m!.keys, ["x1", "x2"]);
  assert.equal(m!.props, { a: "1", b: "two" });
});

test.after(async () => {
  await Promise.allSettled(closing.map((c) => c.shutdown()));
  await stopBroker(broker);
  killSpawned();
  if (clientErrors.length) console.log("client errors:", clientErrors.slice(0, 5));
  exitWhenIdle();
});
test.run();
