// RocketMQ's official Node.js client's Producer against a real ActorMQ broker process over gRPC
// (apache.rocketmq.v2): normal, FIFO, delayed and transactional sends (commit, rollback, and a
// check-back answered by a TransactionChecker), recallMessage; every message read back with
// ActorMQ's own SDK, so the crossing from the RocketMQ client to ActorMQ is checked as well.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, PullConsumer } from "../client/mod.ts";
import type { MessageView as AmqView } from "../protocol/mod.ts";
import { killSpawned, until } from "./helpers/broker.ts";
import { clientErrors, logger, Producer, spawnGrpcBroker, stopBroker, text } from "./helpers/rocketmq.ts";

const TOPICS = ["RqNormal", "RqFifo", "RqDelay", "RqTx", "RqRecall"];
const broker = await spawnGrpcBroker(["--transaction-timeout", "300", "--transaction-check-interval", "200"]);
const admin = new Admin({ endpoints: broker.url });
await admin.start();
for (const t of TOPICS) await admin.createTopic(t, 4);
const reader = new PullConsumer({ endpoints: broker.url, group: "rq-reader" });
await reader.start();

const checked: string[] = [];
const producer = new Producer({
  endpoints: broker.grpc,
  namespace: "",
  topics: TOPICS,
  logger,
  checker: {
    async check(m: { messageId: string }) {
      checked.push(m.messageId);
      return 1; // TransactionResolution.COMMIT
    },
  },
});
await producer.startup();

/** Every message stored in the topic, read with ActorMQ's SDK. */
async function stored(topic: string): Promise<AmqView[]> {
  const out: AmqView[] = [];
  for (let q = 0; q < 4; q++) out.push(...(await reader.pull({ topic, queueId: q, offset: 0, maxCount: 100 })).msgs);
  return out;
}

test("normal send: stored with the client's id, body, tag, keys and properties (read with ActorMQ's SDK)", async () => {
  const r = await producer.send({ topic: "RqNormal", tag: "TagA", keys: ["k1", "k2"], body: Buffer.from([0, 1, 2, 255]), properties: new Map([["color", "red"], ["n", "1"]]) });
  assert.match(r.messageId, /^[0-9A-F]{34}$/);
  const [m] = await stored("RqNormal");
  assert.is(m.id, r.messageId);
  assert.equal([...(m.body as Uint8Array)], [0, 1, 2, 255]);
  assert.is(m.tags, "TagA");
  assert.equal(m.keys, ["k1", "k2"]);
  assert.equal(m.props, { color: "red", n: "1" });
});

test("FIFO send: one message group lands on one queue, in order", async () => {
  const ids = [];
  for (let i = 0; i < 6; i++) ids.push((await producer.send({ topic: "RqFifo", messageGroup: "order-42", body: Buffer.from(`step ${i}`) })).messageId);
  const all = await stored("RqFifo");
  assert.is(new Set(all.map((m) => m.queueId)).size, 1, "a single queue");
  assert.equal(all.sort((a, b) => a.queueOffset - b.queueOffset).map((m) => m.id), ids);
  assert.is(all[0].props?.__SHARDINGKEY, "order-42");
});

test("delayed send: delivered at its time, not before", async () => {
  const due = Date.now() + 1200;
  const r = await producer.send({ topic: "RqDelay", body: Buffer.from("later"), deliveryTimestamp: new Date(due) });
  assert.ok(r.recallHandle, "a recall handle for a delayed message");
  assert.equal(await stored("RqDelay"), [], "not there before its time");
  const m = await until("the delayed message", async () => (await stored("RqDelay"))[0], 10_000);
  assert.ok(Date.now() >= due, "not early");
  assert.is(m.id, r.messageId);
  assert.is(text(m.body), "later");
});

test("recallMessage: a recalled message is never delivered; the one beside it is", async () => {
  const soon = Date.now() + 800;
  const recalled = await producer.send({ topic: "RqRecall", body: Buffer.from("recalled"), deliveryTimestamp: new Date(soon) });
  const kept = await producer.send({ topic: "RqRecall", body: Buffer.from("kept"), deliveryTimestamp: new Date(soon + 400) });
  const receipt = await producer.recallMessage("RqRecall", recalled.recallHandle);
  assert.is(receipt.messageId, recalled.messageId);
  const m = await until("the message not recalled", async () => (await stored("RqRecall"))[0], 10_000);
  assert.is(m.id, kept.messageId);
  assert.equal((await stored("RqRecall")).map((x) => x.id), [kept.messageId], "the recalled one, due earlier, never came");
  let again = "";
  await producer.recallMessage("RqRecall", kept.recallHandle).catch((e: Error) => (again = e.message));
  assert.match(again, /delivered already|recalled/, "a delivered message cannot be recalled");
});

test("transactions: commit delivers, rollback never does", async () => {
  const t1 = producer.beginTransaction();
  const c = await producer.send({ topic: "RqTx", body: Buffer.from("commit me") }, t1);
  assert.ok(c.transactionId);
  assert.equal(await stored("RqTx"), [], "a half message is not visible");
  await t1.commit();
  const t2 = producer.beginTransaction();
  const r = await producer.send({ topic: "RqTx", body: Buffer.from("roll me back") }, t2);
  await t2.rollback();
  const all = await stored("RqTx");
  assert.equal(all.map((m) => m.id), [c.messageId]);
  assert.ok(!all.some((m) => m.id === r.messageId));
  assert.is(all[0].props?.TRAN_MSG, undefined, "committed without the half message's marks");
});

test("transaction check-back: an unresolved one is asked through Telemetry and the checker's COMMIT delivers it", async () => {
  const t = producer.beginTransaction();
  const r = await producer.send({ topic: "RqTx", keys: ["tx-check"], body: Buffer.from("ask me") }, t);
  // Neither committed nor rolled back: the broker checks after --transaction-timeout.
  await until("the check-back", () => checked.includes(r.messageId), 10_000);
  const m = await until("the committed message", async () => (await stored("RqTx")).find((x) => x.id === r.messageId), 10_000);
  assert.equal(m.keys, ["tx-check"]);
});

test.after(async () => {
  await Promise.allSettled([producer.shutdown(), reader.shutdown(), admin.shutdown()]);
  await stopBroker(broker);
  killSpawned();
  if (clientErrors.length) console.log("client errors:", clientErrors.slice(0, 5));
  if (process.env.DEBUG_BROKER) console.log(broker.output());
});
test.run();
