// Delay levels end to end on a real broker (in this process, real files and sockets), with 18
// short levels of 50..900 ms: each level delivers no earlier than due and in order; a delayed
// message keeps what it was sent with and is invisible until due; bad levels get named errors;
// the retry path's ScheduleService.reput keeps reconsumeTimes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, BrokerError, ErrorCode, Producer, PullConsumer, type MessageView } from "../client/mod.ts";
import { encode, MessageProp, SCHEDULE_TOPIC } from "../protocol/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";
import { rawSocket } from "./helpers/raw-socket.ts";

const LEVELS = Array.from({ length: 18 }, (_, i) => (i + 1) * 50);
const env = await startBroker({ delayLevels: LEVELS });
const producer = new Producer({ endpoints: env.url, group: "pg" });
const consumer = new PullConsumer({ endpoints: env.url, group: "cg" });
const admin = new Admin({ endpoints: env.url });
await Promise.all([producer.start(), consumer.start(), admin.start()]);

/** Every message of a queue from `offset`, long-polling until `count` have arrived; with the time each arrived. */
async function receive(topic: string, queueId: number, count: number, timeoutMs = 10_000) {
  const got: { msg: MessageView; receivedAt: number }[] = [];
  let offset = 0;
  const deadline = Date.now() + timeoutMs;
  while (got.length < count) {
    if (Date.now() > deadline) throw new Error(`${topic}:${queueId}: ${got.length} of ${count} messages after ${timeoutMs} ms`);
    const r = await consumer.pull({ topic, queueId, offset, maxCount: 256, pollMs: 1000 });
    const now = Date.now();
    for (const msg of r.msgs) got.push({ msg, receivedAt: now });
    offset = r.nextOffset;
  }
  return got;
}

/** Due time of each scheduled message, by id, from the schedule records themselves. */
async function dueTimes(levels: number[]): Promise<Map<string, number>> {
  const due = new Map<string, number>();
  for (const level of levels) {
    let offset = 0;
    for (;;) {
      const r = await consumer.pull({ topic: SCHEDULE_TOPIC, queueId: level - 1, offset, maxCount: 1000 });
      if (r.msgs.length === 0) break;
      for (const m of r.msgs) due.set(m.id, Number(m.props![MessageProp.DELIVER_AT]));
      offset = r.nextOffset;
    }
  }
  return due;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

test("each of 18 levels delivers no earlier than due, in order within the level", async () => {
  await admin.createTopic("Delayed", 1);
  const perLevel = 5;
  const sends = [];
  for (let k = 0; k < perLevel; k++) {
    for (let level = 1; level <= 18; level++) sends.push({ topic: "Delayed", body: `L${level}-${k}`, queueId: 0, delayLevel: level, props: { level: String(level), k: String(k) } });
  }
  const results = await producer.sendBatch(sends);
  for (const r of results) {
    assert.is(r.queue.topic, "Delayed", "the answer names the real topic");
    assert.is(r.queue.queueId, 0, "and the queue it will land on");
    assert.is(r.queueOffset, -1, "the real offset comes at delivery");
  }
  const got = await receive("Delayed", 0, sends.length);
  const due = await dueTimes(LEVELS.map((_, i) => i + 1));
  const stored: number[] = [];
  const received: number[] = [];
  const order = new Map<number, number[]>();
  for (const { msg, receivedAt } of got) {
    const level = Number(msg.props!.level);
    const at = due.get(msg.id)!;
    assert.ok(at > 0, `${msg.id} has a due time`);
    assert.ok(at >= msg.born + LEVELS[level - 1], "due is at least born + the level's delay");
    assert.ok(msg.storeTimestamp >= at, `level ${level}: stored ${at - msg.storeTimestamp} ms before due`);
    assert.ok(receivedAt >= at, "received no earlier than due");
    stored.push(msg.storeTimestamp - at);
    received.push(receivedAt - at);
    order.set(level, [...(order.get(level) ?? []), Number(msg.props!.k)]);
  }
  assert.is(new Set(got.map((g) => g.msg.id)).size, sends.length, "each delivered once");
  for (let level = 1; level <= 18; level++) assert.equal(order.get(level), [0, 1, 2, 3, 4], `level ${level} keeps its order`);
  stored.sort((a, b) => a - b);
  received.sort((a, b) => a - b);
  console.log(
    `  lateness over ${got.length} messages, 18 levels: re-put store time p50 ${percentile(stored, 50)} ms, p99 ${percentile(stored, 99)} ms, max ${stored[stored.length - 1]} ms;` +
      ` received (long poll) p50 ${percentile(received, 50)} ms, p99 ${percentile(received, 99)} ms`,
  );
});

test("a delayed message keeps body, tags, keys, props and id; invisible in its topic until due", async () => {
  await admin.createTopic("Kept", 1);
  const body = new Uint8Array([0, 1, 2, 250, 255]);
  const sent = await producer.send({ topic: "Kept", body, tags: "TagA", keys: ["order-7", "k2"], props: { region: "eu", n: "1" }, queueId: 0, delayLevel: 18 });
  const early = await consumer.pull({ topic: "Kept", queueId: 0, offset: 0 });
  assert.is(early.status, "NO_NEW_MSG", "nothing in the real topic before due");
  assert.is(early.maxOffset, 0);
  assert.is((await admin.queryMessage({ topic: "Kept", key: "order-7" })).length, 0, "not found by key in its topic before due");

  const [{ msg }] = await receive("Kept", 0, 1);
  assert.is(msg.id, sent.msgId);
  assert.equal(new Uint8Array(msg.body as Uint8Array), body);
  assert.is(msg.tags, "TagA");
  assert.equal(msg.keys, ["order-7", "k2"]);
  assert.equal(msg.props, { region: "eu", n: "1" }, "the schedule properties are gone");
  assert.is(msg.group, "pg");
  assert.is((msg as unknown as Record<string, unknown>).delayLevel, undefined, "the delivered copy carries no delay");
  assert.ok(msg.storeTimestamp >= msg.born + 900);
  const byTag = await consumer.pull({ topic: "Kept", queueId: 0, offset: 0, expression: "TagA" });
  assert.is(byTag.msgs.length, 1, "the re-put record is filtered by its tag like any other");
  const byKey = await admin.queryMessage({ topic: "Kept", key: "order-7" });
  assert.equal(byKey.map((m) => m.id), [sent.msgId]);
  const byId = await admin.queryMessage({ msgId: sent.msgId });
  assert.is(byId.length, 2, "the schedule record and the delivered one share the id");
});

test("a text body and a message without props come through as they were", async () => {
  await admin.createTopic("Plain", 1);
  const sent = await producer.send({ topic: "Plain", body: "just text", queueId: 0, delayLevel: 1 });
  const [{ msg }] = await receive("Plain", 0, 1);
  assert.is(msg.body, "just text");
  assert.is(msg.props, undefined);
  assert.is(msg.id, sent.msgId);
});

test("bad delay levels get named errors, on the wire and from the client", async () => {
  const s = await rawSocket(env.url);
  const cases: [unknown, string][] = [[0, ErrorCode.BAD_REQUEST], [19, ErrorCode.BAD_REQUEST], [1.5, ErrorCode.BAD_REQUEST], [-1, ErrorCode.WRONG_TYPE], ["3", ErrorCode.WRONG_TYPE]];
  let id = 0;
  for (const [delayLevel, code] of cases) {
    s.send(encode({ id: ++id, op: "send", msg: encode({ topic: "Bad", body: "x", id: `bad-${id}`, born: Date.now(), delayLevel }) }));
    const r = await s.next();
    assert.is(r.code, code, `delayLevel ${JSON.stringify(delayLevel)}: ${JSON.stringify(r)}`);
    assert.match(String(r.message), "delayLevel");
  }
  s.send(encode({ id: ++id, op: "sendBatch", msgs: [encode({ topic: "Bad", body: "a", id: "ok-1", born: Date.now(), delayLevel: 1 }), encode({ topic: "Bad", body: "b", id: "bad-b", born: Date.now(), delayLevel: 99 })] }));
  const batch = (await s.next()) as { results: { code: number | string; queueOffset?: number }[] };
  assert.equal(batch.results.map((r) => r.code), [0, ErrorCode.BAD_REQUEST]);
  assert.is(batch.results[0].queueOffset, -1);
  s.send(encode({ id: ++id, op: "send", msg: encode({ topic: SCHEDULE_TOPIC, body: "x", id: "sneaky", born: Date.now() }) }));
  assert.is((await s.next()).code, ErrorCode.NO_PERMISSION, "nobody sends into the schedule topic directly");
  s.close();

  const codeOf = (p: Promise<unknown>) => p.then(() => "resolved", (e) => (e instanceof BrokerError ? e.code : String(e)));
  assert.is(await codeOf(producer.send({ topic: "Bad", body: "x", delayLevel: 0 })), ErrorCode.BAD_REQUEST);
  assert.is(await codeOf(producer.send({ topic: "Bad", body: "x", delayLevel: 19 })), ErrorCode.BAD_REQUEST, "19 of 18: the broker says so");
  assert.is(await codeOf(producer.send({ topic: "Bad", body: "x", delayLevel: 2.5 })), ErrorCode.BAD_REQUEST);
  assert.is(await codeOf(producer.send({ topic: "Bad", body: "x", delayLevel: -3 })), ErrorCode.WRONG_TYPE);
  assert.is(await codeOf(producer.send({ topic: "Bad", body: "x", delayLevel: "3" as never })), ErrorCode.WRONG_TYPE);
});

test("ScheduleService.reput (the retry path) stores at a level and keeps reconsumeTimes through delivery", async () => {
  const done: (BrokerError | undefined)[] = [];
  const born = Date.now();
  const msg = { topic: "Orders", body: "again", id: "retry-1", born, tags: "T", props: { ORIGIN_TOPIC: "Orders" } };
  env.broker.schedule.reput(msg, "%RETRY%cg", 0, 3, { reconsumeTimes: 4 }, (e) => done.push(e));
  env.broker.schedule.reput({ ...msg, id: "retry-2" }, "%RETRY%cg", undefined, 99, {}, (e) => done.push(e));
  await until("both stored", () => done.length === 2);
  assert.equal(done, [undefined, undefined]);
  const got = await receive("%RETRY%cg", 0, 2);
  const first = got.find((g) => g.msg.id === "retry-1")!.msg;
  assert.is(first.reconsumeTimes, 4);
  assert.is(first.body, "again");
  assert.equal(first.props, { ORIGIN_TOPIC: "Orders" });
  assert.ok(first.storeTimestamp >= born + LEVELS[2]);
  const second = got.find((g) => g.msg.id === "retry-2")!.msg;
  assert.is(second.reconsumeTimes, 0);
  assert.ok(second.storeTimestamp >= born + LEVELS[17], "a level past the last is the last");
});

test("the schedule topic is a system topic: listed only on request", async () => {
  assert.not.ok((await admin.topicList()).some((t) => t.topic === SCHEDULE_TOPIC));
  const sys = await admin.topicList({ system: true });
  assert.is(sys.find((t) => t.topic === SCHEDULE_TOPIC)?.queues, 18);
});

test.after(async () => {
  await Promise.allSettled([producer.shutdown(), consumer.shutdown(), admin.shutdown()]);
  await env.stop();
});
test.run();
