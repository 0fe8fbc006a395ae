// Consumption as an async iterator (`for await (const msg of consumer)`, as in nats.js), and
// AbortSignal on sends and pulls.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, type MessageView, Producer, PullConsumer, PushConsumer } from "../client/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";

const env = await startBroker();
const producer = new Producer({ endpoints: env.url });
const admin = new Admin({ endpoints: env.url });
await Promise.all([producer.start(), admin.start()]);

test.after(async () => {
  await Promise.all([producer.shutdown(), admin.shutdown()]);
  await env.stop();
});

const sendN = (topic: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => producer.send({ topic, body: `m${i}`, queueId: 0 }).then((r) => r.msgId)));

test("for await takes every message once; leaving the loop stops the consumer and leaves the message it was on to be read again", async () => {
  await admin.createTopic("Iterated", 1);
  const sent = await sendN("Iterated", 10);
  const consumer = new PushConsumer({ endpoints: env.url, group: "cg-iter", subscriptions: { Iterated: "*" } });
  const seen: MessageView[] = [];
  for await (const msg of consumer) { // starts the consumer
    seen.push(msg);
    if (seen.length === 6) break; // the 6th is left unconsumed
  }
  assert.equal(seen.map((m) => m.id), sent.slice(0, 6), "in queue order, one at a time");
  assert.is(consumer.stats().queues.length, 0, "the consumer was shut down by the break");
  assert.is((await admin.consumerProgress("cg-iter")).queues.find((q) => q.topic === "Iterated")?.consumerOffset, 5, "committed up to the 5 consumed");

  // The group's next member starts where the loop left off: the 6th again, then the rest.
  const again = new PushConsumer({ endpoints: env.url, group: "cg-iter", subscriptions: { Iterated: "*" } });
  await again.start();
  const rest: string[] = [];
  for await (const msg of again) {
    rest.push(msg.id);
    if (rest.length === 5) break;
  }
  assert.equal(rest, sent.slice(5));
});

test("messages({ max }) ends the loop by itself after max messages, each consumed, and stops the consumer", async () => {
  await admin.createTopic("IterMax", 1);
  const sent = await sendN("IterMax", 4);
  const consumer = new PushConsumer({ endpoints: env.url, group: "cg-iter-max", subscriptions: { IterMax: "*" } });
  const seen: string[] = [];
  for await (const msg of consumer.messages({ max: 2 })) seen.push(msg.id);
  assert.equal(seen, sent.slice(0, 2));
  assert.is(consumer.stats().queues.length, 0, "stopped");
  assert.is((await admin.consumerProgress("cg-iter-max")).queues.find((q) => q.topic === "IterMax")?.consumerOffset, 2, "both committed");
  assert.throws(() => consumer.messages({ max: 0 }), /max must be a positive integer/);
});

test("a loop that throws stops the consumer too; a consumer with a handler cannot be iterated", async () => {
  await admin.createTopic("IterThrows", 1);
  await sendN("IterThrows", 3);
  const consumer = new PushConsumer({ endpoints: env.url, group: "cg-iter-throws", subscriptions: { IterThrows: "*" } });
  let caught: unknown;
  try {
    for await (const _ of consumer) throw new Error("the application failed");
  } catch (e) {
    caught = e;
  }
  assert.is((caught as Error).message, "the application failed");
  assert.is(consumer.stats().queues.length, 0);
  const withHandler = new PushConsumer({ endpoints: env.url, group: "g", subscriptions: { T: "*" }, handler: () => "SUCCESS" });
  assert.throws(() => withHandler[Symbol.asyncIterator](), /has a handler/);
});

test("shutdown ends a loop waiting for a message", async () => {
  await admin.createTopic("IterQuiet", 1);
  const consumer = new PushConsumer({ endpoints: env.url, group: "cg-iter-quiet", subscriptions: { IterQuiet: "*" } });
  await consumer.start();
  const loop = (async () => {
    let n = 0;
    for await (const _ of consumer) n++;
    return n;
  })();
  await until("queues taken", () => consumer.stats().queues.length > 0);
  await consumer.shutdown();
  assert.is(await loop, 0);
});

test("an aborted send rejects with the signal's reason; aborted before it starts, it is not sent at all", async () => {
  await admin.createTopic("Aborted", 1);
  const before = new AbortController();
  before.abort(new Error("changed my mind"));
  const e = await producer.send({ topic: "Aborted", body: "never" }, { signal: before.signal }).catch((e) => e);
  assert.is(e.message, "changed my mind");
  // Aborted while the send waits for its route (a topic not known yet): no attempt starts.
  const during = new AbortController();
  const pending = producer.send({ topic: "AbortedWhileRouting", body: "never" }, { signal: during.signal }).catch((e) => e);
  during.abort();
  assert.is((await pending).name, "AbortError");
  // A selector and options together.
  const ok = await producer.send({ topic: "Aborted", body: "sent" }, (qs) => qs[0], undefined, { signal: new AbortController().signal });
  assert.is(ok.status, "SEND_OK");
  await new Promise((r) => setTimeout(r, 100));
  assert.is((await admin.topicStatus("Aborted")).queues[0].maxOffset, 1, "only the one not aborted");
  assert.ok(!(await admin.topicList()).some((t) => t.topic === "AbortedWhileRouting"), "the aborted one created nothing");
});

test("an aborted long-polling pull rejects at once with the signal's reason", async () => {
  await admin.createTopic("AbortPull", 1);
  const consumer = new PullConsumer({ endpoints: env.url, group: "cg-abort-pull" });
  await consumer.start();
  const ac = new AbortController();
  const started = Date.now();
  const pull = consumer.pull({ topic: "AbortPull", queueId: 0, offset: 0, pollMs: 10_000, signal: ac.signal }).catch((e) => e);
  setTimeout(() => ac.abort(), 50);
  const e = await pull;
  assert.is(e.name, "AbortError");
  assert.ok(Date.now() - started < 2000, `gave up after ${Date.now() - started} ms, not the 10 s poll`);
  // The connection is still good for the next pull.
  await producer.send({ topic: "AbortPull", body: "x" });
  const r = await consumer.pull({ topic: "AbortPull", queueId: 0, offset: 0, maxCount: 1 });
  assert.is(r.msgs.length, 1);
  await consumer.shutdown();
});

test.run();
