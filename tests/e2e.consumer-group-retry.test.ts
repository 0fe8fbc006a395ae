// Retries and dead letters end to end: a failed message is sent back, comes again on
// %RETRY%<group> with its reconsume count one higher (after delay level 3 + count, made short
// here), and after maxReconsumeTimes goes to %DLQ%<group> with its origin in its properties.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, type MessageView, Producer, PushConsumer, type PushConsumerOptions } from "../client/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";

// 18 short delay levels: level 3 + n is 50 + 10 n ms instead of 10 s, 30 s, 1 m, ...
const env = await startBroker({ delayLevels: Array.from({ length: 18 }, (_, i) => 30 + 10 * i) } as Record<string, unknown>);
const admin = new Admin({ endpoints: env.url });
const producer = new Producer({ endpoints: env.url, group: "pg" });
await Promise.all([admin.start(), producer.start()]);

const started: PushConsumer[] = [];
function consumer(options: Partial<PushConsumerOptions> & Pick<PushConsumerOptions, "group" | "subscriptions">): PushConsumer {
  const c = new PushConsumer({ endpoints: env.url, consumeFrom: "first", handler: () => "SUCCESS", persistOffsetIntervalMs: 20, ...options });
  started.push(c);
  return c;
}

test("a handler failing 3 times then succeeding gets the message 4 times, reconsumeTimes 0..3", async () => {
  await admin.createTopic("Flaky", 1);
  const seen: MessageView[] = [];
  const c = consumer({
    group: "cg-flaky",
    subscriptions: { Flaky: "*" },
    handler: (m) => {
      seen.push({ ...m, props: { ...m.props } });
      if (seen.length === 2) throw new Error("a throw counts as RECONSUME_LATER");
      return seen.length <= 3 ? "RECONSUME_LATER" : "SUCCESS";
    },
  });
  await c.start();
  const sent = await producer.send({ topic: "Flaky", body: "try me", tags: "t1" });
  await until("4 deliveries", () => seen.length >= 4);
  assert.equal(seen.map((m) => m.reconsumeTimes), [0, 1, 2, 3]);
  for (const m of seen) {
    assert.is(m.id, sent.msgId, "the id stays the same");
    assert.is(m.topic, "Flaky", "a retry shows its original topic");
    assert.is(m.body, "try me");
  }
  for (const m of seen.slice(1)) {
    assert.is(m.props?.ORIGIN_TOPIC, "Flaky");
    assert.is(m.props?.ORIGIN_MSG_ID, sent.msgId);
  }
  assert.is(c.stats().sentBack, 3);
  // Finished: everything committed, and no fifth delivery.
  await until("no lag", async () => {
    const p = await admin.consumerProgress("cg-flaky");
    return p.totalLag === 0 && p.queues.every((q) => q.consumerOffset === q.brokerOffset);
  });
  assert.is(seen.length, 4);
});

test("a handler that always fails sends the message to the DLQ after maxReconsumeTimes; the DLQ copy carries its origin", async () => {
  await admin.createTopic("Doomed", 1);
  const seen: number[] = [];
  const c = consumer({ group: "cg-doomed", subscriptions: { Doomed: "*" }, maxReconsumeTimes: 2, handler: (m) => (seen.push(m.reconsumeTimes), "RECONSUME_LATER") });
  await c.start();
  const sent = await producer.send({ topic: "Doomed", body: "never", keys: ["k-doomed"] });
  const dlq = "%DLQ%cg-doomed";
  await until("the DLQ exists", async () => (await admin.topicList()).some((x) => x.topic === dlq));
  assert.equal(seen, [0, 1, 2], "maxReconsumeTimes + 1 deliveries");

  const dead: MessageView[] = [];
  const reader = consumer({ group: "cg-dlq-reader", subscriptions: { [dlq]: "*" }, handler: (m) => (dead.push(m), "SUCCESS") });
  await reader.start();
  await until("the DLQ message read", () => dead.length >= 1);
  const [d] = dead;
  assert.is(d.id, sent.msgId);
  assert.is(d.body, "never");
  assert.is(d.props?.ORIGIN_TOPIC, "Doomed");
  assert.is(d.props?.ORIGIN_MSG_ID, sent.msgId);
  assert.is(dead.length, 1);
  assert.equal(seen, [0, 1, 2], "no delivery after the DLQ");
});

test.after(async () => {
  await Promise.all(started.map((c) => c.shutdown(5000)));
  await Promise.all([producer.shutdown(), admin.shutdown()]);
  await env.stop();
});
test.run();
