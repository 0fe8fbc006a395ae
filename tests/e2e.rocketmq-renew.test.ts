// Auto-renewal of invisibility (auto_renew, which RocketMQ 5's push consumers ask for) against a
// broker process whose renewal unit is 1 s (--auto-renew-invisible 1000): a message handed out
// is invisible for 1 s and renewed shortly before that, by 1 s, then 3 s, then 5 s... A consumer
// of the same group polls all along: it would get the message as soon as it became visible.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer as AmqProducer } from "../client/mod.ts";
import { killSpawned, until } from "./helpers/broker.ts";
import { clientErrors, ConsumeResult, exitWhenIdle, logger, type MessageView, PushConsumer, rawGrpc, SimpleConsumer, spawnGrpcBroker, stopBroker } from "./helpers/rocketmq.ts";

const broker = await spawnGrpcBroker(["--auto-renew-invisible", "1000"]);
const admin = new Admin({ endpoints: broker.url });
await admin.start();
for (const t of ["RnSlow", "RnGone"]) await admin.createTopic(t, 2);
const amq = new AmqProducer({ endpoints: broker.url });
await amq.start();
const closing: { shutdown(): Promise<unknown> }[] = [admin, amq];

async function watcher(group: string, topic: string) {
  const c = new SimpleConsumer({ endpoints: broker.grpc, namespace: "", consumerGroup: group, subscriptions: new Map([[topic, "*"]]), awaitDuration: 300, logger });
  await c.startup();
  closing.push(c);
  /** Receives (hiding what it gets for 30 s) until `untilMs` since the epoch; what it got. */
  return async (untilMs: number) => {
    const got: MessageView[] = [];
    while (Date.now() < untilMs) got.push(...await c.receive(1, 30_000));
    return got;
  };
}

test("PushConsumer auto_renew: a listener 3.5 times slower than the invisible duration has its message alone, and its ack with the first receipt handle settles it", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const attempts: number[] = [];
  const c = new PushConsumer({
    endpoints: broker.grpc,
    namespace: "",
    consumerGroup: "rn-slow",
    subscriptions: new Map([["RnSlow", "*"]]),
    logger,
    messageListener: {
      async consume(m: MessageView) {
        attempts.push(m.deliveryAttempt ?? 0);
        await gate;
        return ConsumeResult.SUCCESS;
      },
    },
  });
  await c.startup();
  closing.push(c);
  const poll = await watcher("rn-slow", "RnSlow");
  await amq.send({ topic: "RnSlow", body: "slow" });
  await until("the listener has the message", () => attempts.length === 1, 10_000);
  const handedOut = Date.now();
  const stolen = await poll(handedOut + 3500);
  release();
  // Renewed to about 1.8 s, then 4.8 s after it was handed out: an ack that missed would let it be seen by then.
  stolen.push(...await poll(handedOut + 6500));
  assert.equal(stolen.map((m) => m.messageId), [], "never visible to the other consumer");
  assert.equal(attempts, [1], "delivered once");
  assert.equal(clientErrors.filter((e) => /ack/i.test(e)), [], "the ack succeeded");
});

test("auto_renew: what a client held comes back within a second of its NotifyClientTermination, not at its renewed deadline", async () => {
  const gone = rawGrpc(broker.grpc, "rn-gone-client");
  const poll = await watcher("rn-gone", "RnGone");
  const sent = await amq.send({ topic: "RnGone", body: "held" });
  const got = await gone.receive({ group: { name: "rn-gone" }, message_queue: { topic: { name: "RnGone" }, id: 0 }, batch_size: 1, auto_renew: true, long_polling_timeout: { seconds: 5 } });
  const m = got.find((r) => r.message)?.message;
  assert.is(m?.system_properties.message_id, sent.msgId);
  const handedOut = Date.now();
  // Renewed three times by 5 s (to about 9.8 s): nobody else sees it meanwhile.
  assert.equal(await poll(handedOut + 5000), []);
  await gone.unary("NotifyClientTermination", { group: { name: "rn-gone" } });
  const ended = Date.now();
  const back = await until("the message back", async () => (await poll(Date.now() + 1))[0], 4000, 0);
  assert.is(back.messageId, sent.msgId);
  assert.is(back.deliveryAttempt, 2);
  assert.ok(Date.now() - ended < 2500, `back ${Date.now() - ended} ms after the client left (its renewed deadline was ~4.8 s away)`);
  gone.close();
});

test.after(async () => {
  await Promise.allSettled(closing.map((c) => c.shutdown()));
  await stopBroker(broker);
  killSpawned();
  if (clientErrors.length) console.log("client errors:", clientErrors.slice(0, 5));
  exitWhenIdle();
});
test.run();
