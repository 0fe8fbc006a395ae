// POP consumption with ActorMQ's SimpleConsumer against a real broker: receive and ack, more
// consumers than queues without duplicates, redelivery after the invisible duration with the
// attempt one higher, changeInvisibleDuration (later, and 0 = at once), max attempts then the
// DLQ, FIFO groups holding a queue's next message until the one before is acked, long polling.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer, SimpleConsumer, type SimpleMessage } from "../client/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";

const env = await startBroker();
const producer = new Producer({ endpoints: env.url });
await producer.start();
const admin = new Admin({ endpoints: env.url });
await admin.start();
const open: { shutdown(): Promise<void> }[] = [producer, admin];

async function consumer(group: string, topic: string, awaitMs = 2000): Promise<SimpleConsumer> {
  const c = new SimpleConsumer({ endpoints: env.url, group, subscriptions: { [topic]: "*" }, awaitMs });
  await c.start();
  open.push(c);
  return c;
}

const bodyText = (m: SimpleMessage) => (typeof m.body === "string" ? m.body : new TextDecoder().decode(m.body));

test("receive + ack: every message once, across consumers sharing a 4-queue topic", async () => {
  for (let i = 0; i < 40; i++) await producer.send({ topic: "PopA", body: `m${i}`, tags: "t", keys: [`k${i}`] });
  const cs = await Promise.all([1, 2, 3, 4, 5, 6].map(() => consumer("popA", "PopA", 200)));
  const seen: string[] = [];
  while (seen.length < 40) {
    const got = await Promise.all(cs.map((c) => c.receive(4, 30_000)));
    if (got.flat().length === 0) break;
    for (const m of got.flat()) {
      assert.is(m.deliveryAttempt, 1);
      assert.is(m.topic, "PopA");
      seen.push(bodyText(m));
    }
    await Promise.all(got.flatMap((msgs, i) => msgs.map((m) => cs[i].ack(m))));
  }
  assert.equal(seen.sort(), Array.from({ length: 40 }, (_, i) => `m${i}`).sort());
  assert.equal(await cs[0].receive(10, 1000), [], "nothing left, nothing twice");
});

test("unacked: visible again after the invisible duration, attempt 2; an acked one never", async () => {
  const c = await consumer("popB", "PopB", 3000);
  await producer.send({ topic: "PopB", body: "again" });
  const [first] = await c.receive(1, 500);
  assert.is(first.deliveryAttempt, 1);
  const t0 = Date.now();
  const [second] = await c.receive(1, 10_000);
  assert.ok(Date.now() - t0 >= 300, "not before its invisibility ended");
  assert.is(bodyText(second), "again");
  assert.is(second.id, first.id, "the same message id");
  assert.is(second.deliveryAttempt, 2);
  const stale = await c.ack(first).then(() => null, (e: { code?: string }) => e.code);
  assert.is(stale, "INVALID_RECEIPT_HANDLE", "the first delivery's handle expired with it");
  await c.ack(second);
  assert.equal(await c.receive(1, 1000), []);
});

test("changeInvisibleDuration: later keeps it hidden, 0 makes it visible at once; the new handle acks", async () => {
  const c = await consumer("popC", "PopC", 3000);
  await producer.send({ topic: "PopC", body: "c" });
  const [m] = await c.receive(1, 500);
  const oldHandle = m.receiptHandle;
  await c.changeInvisibleDuration(m, 5000);
  assert.is.not(m.receiptHandle, oldHandle);
  const c2 = await consumer("popC", "PopC", 800);
  assert.equal(await c2.receive(1, 1000), [], "still hidden past the first 500 ms");
  await c.changeInvisibleDuration(m, 0);
  const [again] = await c2.receive(1, 5000);
  assert.is(again.id, m.id);
  assert.is(again.deliveryAttempt, 2);
  await c2.ack(again);
});

test("max attempts (updateSubscriptionGroup): then %DLQ%<group>, with its origin", async () => {
  const s = await admin.updateSubscriptionGroup("popD", { maxReconsumeTimes: 1 });
  assert.is(s.maxReconsumeTimes, 1);
  assert.is(s.orderly, false);
  const c = await consumer("popD", "PopD", 3000);
  await producer.send({ topic: "PopD", body: "doomed", keys: ["dk"] });
  const [a1] = await c.receive(1, 200);
  await c.changeInvisibleDuration(a1, 0);
  const [a2] = await c.receive(1, 200);
  assert.is(a2.deliveryAttempt, 2);
  await c.changeInvisibleDuration(a2, 0);
  const reader = new PullConsumer({ endpoints: env.url, group: "dlq-reader" });
  await reader.start();
  open.push(reader);
  const dead = await until("the DLQ message", async () => {
    try {
      return (await reader.pull({ topic: "%DLQ%popD", queueId: 0, offset: 0 })).msgs[0];
    } catch {
      return undefined;
    }
  });
  assert.is(dead!.id, a1.id);
  assert.is(dead!.props?.ORIGIN_TOPIC, "PopD");
  assert.equal(dead!.keys, ["dk"]);
  assert.equal(await c.receive(1, 500), [], "not delivered a third time");
});

test("FIFO group: a queue's next message waits until the one before is acked", async () => {
  await admin.updateSubscriptionGroup("popF", { orderly: true });
  await admin.createTopic("PopF", 1);
  for (let i = 0; i < 3; i++) await producer.send({ topic: "PopF", body: `f${i}` });
  const c = await consumer("popF", "PopF", 500);
  const [m0] = await c.receive(1, 2000);
  assert.is(bodyText(m0), "f0");
  assert.equal(await c.receive(1, 2000), [], "f1 waits behind f0");
  await c.changeInvisibleDuration(m0, 0);
  const [again] = await c.receive(1, 2000);
  assert.is(bodyText(again), "f0", "f0 again, in place");
  assert.is(again.deliveryAttempt, 2);
  await c.ack(again);
  const [m1] = await c.receive(1, 2000);
  assert.is(bodyText(m1), "f1");
  assert.is(m1.deliveryAttempt, 1);
});

test("receives of one group in the same turn (as one gRPC read may bring): each message to one of them", async () => {
  // The group's offsets and FIFO batches are asked of their actors; a group's receives take turns.
  await admin.createTopic("PopT", 1);
  await admin.updateSubscriptionGroup("popTF", { orderly: true });
  for (let i = 0; i < 8; i++) await producer.send({ topic: "PopT", body: `t${i}` });
  const receive = (group: string) =>
    new Promise<string[]>((resolve, reject) =>
      env.broker.pop.receive({ group, topic: "PopT", maxCount: 2, invisibleMs: 30_000, expression: "*", pollMs: 0 }, (err, msgs) =>
        err ? reject(err) : resolve(msgs.map((m) => m.queueOffset).map(String))));
  const plain = (await Promise.all([1, 2, 3, 4, 5].map(() => receive("popT")))).flat();
  assert.equal(plain.sort(), ["0", "1", "2", "3", "4", "5", "6", "7"], "each message handed out once");
  const fifo = await Promise.all([1, 2, 3].map(() => receive("popTF")));
  assert.equal(fifo.flat(), ["0", "1"], "one batch in flight; the others wait behind it");
});

test("long polling: a waiting receive gets a message sent while it waits", async () => {
  const c = await consumer("popL", "PopL", 5000);
  await admin.createTopic("PopL", 4);
  const waiting = c.receive(1, 10_000);
  await new Promise((r) => setTimeout(r, 100));
  const sent = await producer.send({ topic: "PopL", body: "late" });
  const t0 = Date.now();
  const [m] = await waiting;
  assert.is(m.id, sent.msgId);
  assert.ok(Date.now() - t0 < 2000, "answered when it arrived, not at the deadline");
});

test.after(async () => {
  await Promise.allSettled(open.map((c) => c.shutdown()));
  await env.stop();
});
test.run();
