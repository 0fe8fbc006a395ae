// Delivery at any time (deliverAt / delayMs) end to end on a real broker in this process: a
// timed message keeps what it was sent with and is invisible until due; 20,000 messages due at
// random moments of the next 5 s are each delivered once and never early (lateness reported);
// bad times get named errors, on the wire and from the client.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, BrokerError, ErrorCode, Producer, PullConsumer, type MessageView } from "../client/mod.ts";
import { decode, encode, MessageProp, TIMER_TOPIC } from "../protocol/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";
import { rawSocket } from "./helpers/raw-socket.ts";

const env = await startBroker({ timerMaxDelayMs: 60_000 });
const producer = new Producer({ endpoints: env.url, group: "pg" });
const consumer = new PullConsumer({ endpoints: env.url, group: "cg" });
const admin = new Admin({ endpoints: env.url });
await Promise.all([producer.start(), consumer.start(), admin.start()]);

/** Every message of a topic's queues, long-polling until `count` have arrived; with when each arrived. */
async function receive(topic: string, queues: number, count: number, timeoutMs = 20_000) {
  const got: { msg: MessageView; receivedAt: number }[] = [];
  const offsets = new Array(queues).fill(0);
  const deadline = Date.now() + timeoutMs;
  await Promise.all(offsets.map(async (_, q) => {
    while (got.length < count) {
      if (Date.now() > deadline) throw new Error(`${topic}: ${got.length} of ${count} messages after ${timeoutMs} ms`);
      const r = await consumer.pull({ topic, queueId: q, offset: offsets[q], maxCount: 1000, pollMs: 200 });
      const now = Date.now();
      for (const msg of r.msgs) got.push({ msg, receivedAt: now });
      offsets[q] = r.nextOffset;
    }
  }));
  return got;
}

const codeOf = (p: Promise<unknown>) => p.then(() => "resolved", (e) => (e instanceof BrokerError ? e.code : String(e)));

test("a timed message keeps body, tags, keys, props and msgId, and is invisible until due", async () => {
  await admin.createTopic("Timed", 1);
  const at = Date.now() + 400;
  const body = new Uint8Array([1, 2, 3, 250]);
  const sent = await producer.send({ topic: "Timed", body, tags: "TagA", keys: ["k-1", "k-2"], props: { color: "blue" }, deliverAt: at, queueId: 0 });
  assert.is(sent.queueOffset, -1);
  assert.is(sent.queue.topic, "Timed");
  const early = await consumer.pull({ topic: "Timed", queueId: 0, offset: 0 });
  assert.is(early.status, "NO_NEW_MSG", "nothing before it is due");
  const [{ msg, receivedAt }] = await receive("Timed", 1, 1, 5000);
  assert.ok(msg.storeTimestamp >= at, `stored ${at - msg.storeTimestamp} ms early`);
  assert.ok(receivedAt >= at);
  assert.is(msg.id, sent.msgId);
  assert.equal(msg.body, body);
  assert.is(msg.tags, "TagA");
  assert.equal(msg.keys, ["k-1", "k-2"]);
  assert.equal(msg.props, { color: "blue" }, "the timer's own properties are gone");
  assert.is((msg as unknown as Record<string, unknown>).deliverAt, undefined);
});

test("delayMs counts from the broker's receipt; a past deliverAt delivers at once", async () => {
  await admin.createTopic("Rel", 1);
  const before = Date.now();
  const a = await producer.send({ topic: "Rel", body: "later", delayMs: 300, queueId: 0 });
  const b = await producer.send({ topic: "Rel", body: "now", deliverAt: before - 60_000, queueId: 0 });
  const got = await receive("Rel", 1, 2, 5000);
  const byId = new Map(got.map((g) => [g.msg.id, g.msg]));
  assert.ok(byId.get(a.msgId)!.storeTimestamp >= before + 300);
  assert.ok(byId.get(b.msgId)!.storeTimestamp < byId.get(a.msgId)!.storeTimestamp, "the past one first");
});

test("20,000 messages due at random within 5 s: each delivered once, none early", async () => {
  const N = 20_000;
  const QUEUES = 4;
  await admin.createTopic("Wheel", QUEUES);
  const start = Date.now() + 500; // past the sends
  const dueOf = new Map<string, number>();
  for (let i = 0; i < N; i += 500) {
    const batch = Array.from({ length: Math.min(500, N - i) }, (_, k) => {
      const at = start + Math.floor(Math.random() * 5000);
      return { topic: "Wheel", body: `w-${i + k}`, deliverAt: at, props: { at: String(at) } };
    });
    const results = await producer.sendBatch(batch);
    results.forEach((r, k) => dueOf.set(r.msgId, batch[k].deliverAt));
  }
  assert.ok(env.broker.timer.inMemory < N, "pending timers wait on disk, not all in memory");
  const got = await receive("Wheel", QUEUES, N, 30_000);
  assert.is(got.length, N);
  const seen = new Set<string>();
  const lateness: number[] = [];
  for (const { msg, receivedAt } of got) {
    assert.not.ok(seen.has(msg.id), `${msg.id} delivered twice`);
    seen.add(msg.id);
    const at = dueOf.get(msg.id)!;
    assert.is(Number(msg.props!.at), at);
    assert.ok(msg.storeTimestamp >= at, `${msg.id} stored ${at - msg.storeTimestamp} ms early`);
    assert.ok(receivedAt >= at, `${msg.id} received early`);
    lateness.push(msg.storeTimestamp - at);
  }
  lateness.sort((x, y) => x - y);
  const p = (q: number) => lateness[Math.min(N - 1, Math.floor(q * N))];
  console.log(`  timer lateness over ${N} messages (store time - deliverAt): p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${lateness[N - 1]} ms`);
});

test("the sent map is edited in place into the timer topic; a map it cannot edit (indefinite length) is re-encoded", async () => {
  const s = await rawSocket(env.url);
  const at = Date.now() + 300;
  const body = new Uint8Array(2000).map((_, i) => (i * 7) & 255);
  const fields = (id: string) => ({ topic: "Spliced", body, id, born: Date.now(), tags: "T", keys: ["k"], props: { p: "1", REAL_QID: "forged" }, deliverAt: at });
  const definite = encode(fields("splice-1"));
  // The same fields as an indefinite-length map (0xbf, the entries, 0xff), which any CBOR encoder may write.
  const entries = Object.entries(fields("splice-2")).flatMap(([k, v]) => [...encode(k), ...encode(v)]);
  const indefinite = new Uint8Array([0xbf, ...entries, 0xff]);
  s.send(encode({ id: 1, op: "send", msg: definite, queueId: 1 }));
  assert.is((await s.next()).code, 0);
  s.send(encode({ id: 2, op: "send", msg: indefinite, queueId: 1 }));
  assert.is((await s.next()).code, 0);
  s.close();
  // The stored timer record: the sent entries, deliverAt gone, the real queue and time in props.
  const stored = env.broker.store.getMessages(TIMER_TOPIC, 0, 0, 100_000, 64 * 1024 * 1024).records
    .map((r) => decode(r.message) as Record<string, unknown>).filter((m) => String(m.id).startsWith("splice-"));
  assert.is(stored.length, 2);
  for (const m of stored) {
    assert.is(m.topic, TIMER_TOPIC);
    assert.is(m.deliverAt, undefined);
    assert.equal(m.props, { p: "1", REAL_TOPIC: "Spliced", REAL_QID: "1", DELIVER_AT: String(at) });
    assert.equal([...(m.body as Uint8Array)], [...body]);
  }
  const got = await receive("Spliced", 2, 2);
  for (const { msg, receivedAt } of got) {
    assert.ok(receivedAt >= at, "not early");
    assert.equal([...(msg.body as Uint8Array)], [...body]);
    assert.is(msg.tags, "T");
    assert.equal(msg.keys, ["k"]);
    assert.equal(msg.props, { p: "1" }, "the timer's own properties are gone, the forged REAL_QID too");
  }
  assert.equal(got.map((g) => g.msg.id).sort(), ["splice-1", "splice-2"]);
});

test("bad times get named errors, on the wire and from the client", async () => {
  const s = await rawSocket(env.url);
  const cases: [Record<string, unknown>, string, string][] = [
    [{ deliverAt: -1 }, ErrorCode.WRONG_TYPE, "deliverAt"],
    [{ delayMs: -5 }, ErrorCode.WRONG_TYPE, "delayMs"],
    [{ delayMs: "5" }, ErrorCode.WRONG_TYPE, "delayMs"],
    [{ delayMs: 1.5 }, ErrorCode.WRONG_TYPE, "delayMs"],
    [{ delayMs: 61_000 }, ErrorCode.BAD_REQUEST, "maximum delay"],
    [{ deliverAt: Date.now() + 3_600_000 }, ErrorCode.BAD_REQUEST, "maximum delay"],
    [{ delayMs: 10, deliverAt: Date.now() }, ErrorCode.BAD_REQUEST, "exclude"],
    [{ delayMs: 10, delayLevel: 1 }, ErrorCode.BAD_REQUEST, "delayLevel"],
  ];
  let id = 0;
  for (const [extra, code, text] of cases) {
    s.send(encode({ id: ++id, op: "send", msg: encode({ topic: "BadTime", body: "x", id: `bad-${id}`, born: Date.now(), ...extra }) }));
    const r = await s.next();
    assert.is(r.code, code, `${JSON.stringify(extra)}: ${JSON.stringify(r)}`);
    assert.match(String(r.message), text);
  }
  s.send(encode({ id: ++id, op: "send", msg: encode({ topic: TIMER_TOPIC, body: "x", id: "sneaky", born: Date.now() }) }));
  assert.is((await s.next()).code, ErrorCode.NO_PERMISSION, "nobody sends into the timer topic directly");
  s.close();

  assert.is(await codeOf(producer.send({ topic: "BadTime", body: "x", deliverAt: -1 })), ErrorCode.WRONG_TYPE);
  assert.is(await codeOf(producer.send({ topic: "BadTime", body: "x", delayMs: -1 })), ErrorCode.WRONG_TYPE);
  assert.is(await codeOf(producer.send({ topic: "BadTime", body: "x", delayMs: 120_000 })), ErrorCode.BAD_REQUEST, "past the broker's maximum: the broker says so");
  assert.is(await codeOf(producer.send({ topic: "BadTime", body: "x", delayMs: 5, delayLevel: 2 })), ErrorCode.BAD_REQUEST);
});

test("the timer is an actor that knows when it next runs; the wheel's cursor is the timer service's alone; its topic is a system topic", async () => {
  const timer = env.broker.root.system.get("timer");
  assert.ok(timer, "systemId timer");
  const ctx = timer!.getSnapshot().context as { cursor?: number; nextAt: number };
  assert.ok(ctx.nextAt > 0);
  assert.is(ctx.cursor, undefined, "one owner: the cursor is not mirrored in the actor");
  const cursor = env.broker.timer.cursor;
  assert.ok(cursor >= Math.floor(Date.now() / 1000) - 3, `cursor ${cursor} keeps up with the clock`);
  assert.not.ok((await admin.topicList()).some((t) => t.topic === TIMER_TOPIC));
  assert.ok(MessageProp.DELIVER_AT);
});

test.after(async () => {
  await Promise.allSettled([producer.shutdown(), consumer.shutdown(), admin.shutdown()]);
  await env.stop();
});
test.run();
