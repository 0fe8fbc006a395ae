// Where a new group starts, RocketMQ's way: a consumer started before its topic exists takes the
// topic's queues as soon as the topic is created (the broker tells the group's members) and,
// with the default consumeFrom, misses nothing sent after it started; a queue whose oldest
// messages are gone starts at its end.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PushConsumer } from "../client/mod.ts";
import { ConsumerOffsets } from "../client/consumer-offsets.ts";
import { MemoryOffsetStore } from "../client/offset-store.ts";
import { Transport } from "../client/transport.ts";
import { resolveWebSocket } from "../client/websocket-class.ts";
import type { Push } from "../protocol/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";

const env = await startBroker();
const admin = new Admin({ endpoints: env.url, logLevel: "silent" });
const producer = new Producer({ endpoints: env.url });
await Promise.all([admin.start(), producer.start()]);
const consumers: PushConsumer[] = [];

test.after(async () => {
  await Promise.all(consumers.map((c) => c.shutdown()));
  await Promise.all([admin.shutdown(), producer.shutdown()]);
  await env.stop();
});

/** A consumer of `topic` (default options) recording when each message arrived. */
async function consumerOf(topic: string, group: string) {
  const arrived = new Map<string, number>();
  // Silent: it says, as it should, that its topic does not exist yet.
  const c = new PushConsumer({ endpoints: env.url, group, subscriptions: { [topic]: "*" }, logLevel: "silent", handler: (m) => (arrived.set(m.id, Date.now()), "SUCCESS") });
  consumers.push(c);
  await c.start();
  return arrived;
}

test("a consumer started before its topic exists gets every message sent after it started, within a second of the topic's creation by a first send", async () => {
  const arrived = await consumerOf("BornLater", "cg-born-later");
  const created = Date.now();
  const sent: string[] = [];
  for (let i = 0; i < 20; i++) sent.push((await producer.send({ topic: "BornLater", body: `m${i}` })).msgId);
  await until("every message", () => sent.every((id) => arrived.has(id)), 5000, 5);
  const first = arrived.get(sent[0])! - created;
  assert.ok(first < 1000, `the first message arrived ${first} ms after the topic was created`);
  assert.is(arrived.size, sent.length, "each once");
});

test("... and within a second of a createTopic, with what was sent right after it", async () => {
  const arrived = await consumerOf("CreatedLater", "cg-created-later");
  await admin.createTopic("CreatedLater", 8);
  const created = Date.now();
  const sent = await Promise.all(Array.from({ length: 16 }, (_, i) => producer.send({ topic: "CreatedLater", body: `m${i}` }).then((r) => r.msgId)));
  await until("every message", () => sent.every((id) => arrived.has(id)), 5000, 5);
  const last = Math.max(...sent.map((id) => arrived.get(id)!)) - created;
  assert.ok(last < 1000, `all 16 arrived within ${last} ms of the topic's creation`);
});

test("the broker tells a group's members when a topic they subscribe to is created (and no one else)", async () => {
  const pushes: Push[] = [];
  const member = new Transport(env.url, { WebSocket: resolveWebSocket(), onPush: (p) => pushes.push(p) });
  const other = new Transport(env.url, { WebSocket: resolveWebSocket(), onPush: (p) => pushes.push({ ...p, other: true }) });
  const beat = (t: Transport, clientId: string, topic: string) =>
    t.request("heartbeat", { clientId, consumerGroups: [{ group: `cg-${clientId}`, model: "clustering", subscriptions: { [topic]: "*" } }] }, 3000);
  await beat(member, "member", "Announced");
  await beat(other, "other", "SomethingElse");
  pushes.length = 0;
  await admin.createTopic("Announced", 2);
  await until("a rebalance push", () => pushes.length > 0, 2000, 5);
  assert.equal(pushes, [{ op: "rebalance", group: "cg-member", clientIds: ["member"] }]);
  await Promise.all([member.close(), other.close()]);
});

test("a queue whose oldest messages were deleted starts at its end; one whose first message is stored, at 0", async () => {
  // The broker's answers as topicStatus gives them (retention is what makes minOffset > 0).
  const status = { queues: [{ queueId: 0, minOffset: 0, maxOffset: 40 }, { queueId: 1, minOffset: 1000, maxOffset: 1500 }] };
  const offsets = new ConsumerOffsets({
    group: "g",
    model: "clustering",
    consumeFrom: "last",
    offsetStore: new MemoryOffsetStore(),
    owned: () => [],
    committed: () => {},
    call: (_address, op) => Promise.resolve(op === "queryOffset" ? { offset: -1 } : status),
  });
  const mq = (queueId: number) => ({ broker: "b", address: "ws://b", topic: "T", queueId });
  assert.is(await offsets.startOffset(mq(0)), 0);
  assert.is(await offsets.startOffset(mq(1)), 1500);
});

test.run();
