// The PullConsumer and Admin against a real WebSocket server (the in-memory echo broker).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BrokerError } from "../protocol/mod.ts";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { startEchoServer } from "./helpers/client-echo-server.ts";
import { rejection } from "./helpers/rejection.ts";

const server = await startEchoServer();
const admin = new Admin({ endpoints: server.url });
const producer = new Producer({ endpoints: server.url, group: "pg" });
const consumer = new PullConsumer({ endpoints: server.url, group: "cg" });
await Promise.all([admin.start(), producer.start(), consumer.start()]);


test.after.each(() => {
  server.intercept = () => undefined;
});

test("what was sent comes back: same bytes, same text, store metadata added", async () => {
  await admin.createTopic("Orders", 1);
  const bytes = new Uint8Array([0, 1, 2, 250]);
  const a = await producer.send({ topic: "Orders", body: bytes, tags: "paid", keys: ["o-1"], props: { region: "eu" } });
  const b = await producer.send({ topic: "Orders", body: "text body" });
  const r = await consumer.pull({ topic: "Orders", queueId: 0, offset: 0 });
  assert.is(r.status, "FOUND");
  assert.is(r.nextOffset, 2);
  assert.is(r.maxOffset, 2);
  assert.is(r.msgs.length, 2);
  const [m0, m1] = r.msgs;
  assert.is(m0.id, a.msgId);
  assert.equal(new Uint8Array(m0.body as Uint8Array), bytes);
  assert.is(m0.tags, "paid");
  assert.equal(m0.keys, ["o-1"]);
  assert.equal(m0.props, { region: "eu" });
  assert.is(m0.group, "pg");
  assert.is(m0.queueId, 0);
  assert.is(m0.queueOffset, 0);
  assert.ok(m0.storeTimestamp > 0 && m0.born > 0);
  assert.is(m0.reconsumeTimes, 0);
  assert.is(m1.id, b.msgId);
  assert.is(m1.body, "text body");
  assert.is(m1.queueOffset, 1);
  const empty = await consumer.pull({ topic: "Orders", queueId: 0, offset: 2 });
  assert.is(empty.status, "NO_NEW_MSG");
  assert.equal(empty.msgs, []);
});

test("tags are confirmed on the client: a hash collision the broker lets through is dropped", async () => {
  // "Aa" and "BB" have the same Java hashCode, so the broker's tags-code filter cannot tell them apart.
  await admin.createTopic("Tagged", 1);
  await producer.sendBatch([
    { topic: "Tagged", body: "1", tags: "Aa" },
    { topic: "Tagged", body: "2", tags: "BB" },
    { topic: "Tagged", body: "3", tags: "Other" },
    { topic: "Tagged", body: "4" },
  ]);
  const r = await consumer.pull({ topic: "Tagged", queueId: 0, offset: 0, expression: "Aa" });
  assert.is(r.status, "FOUND");
  assert.equal(r.msgs.map((m) => m.body), ["1"]);
  const onlyCollision = await consumer.pull({ topic: "Tagged", queueId: 0, offset: 1, maxCount: 1, expression: "Aa" });
  assert.is(onlyCollision.status, "NO_MATCHED_MSG", "every message the broker found was a collision");
  assert.equal(onlyCollision.msgs, []);
  assert.is(onlyCollision.nextOffset, 2);
  const both = await consumer.pull({ topic: "Tagged", queueId: 0, offset: 0, expression: "Aa || Other" });
  assert.equal(both.msgs.map((m) => m.body), ["1", "3"]);
  assert.is((await rejection(consumer.pull({ topic: "Tagged", queueId: 0, offset: 0, expression: "A || " }))).code, "BAD_REQUEST");
});

test("pull sends only the arguments it was given; a long poll's timeout covers its poll time", async () => {
  let seen: Record<string, unknown> | undefined;
  server.intercept = (req) => {
    if (req.op === "pull") seen = req;
    return req.op === "pull" ? { delayMs: 300 } : undefined;
  };
  const slow = new PullConsumer({ endpoints: server.url, group: "cg", requestTimeoutMs: 100 });
  // 300 ms to answer: beyond the 100 ms request timeout, within pollMs + 100 ms.
  const r = await slow.pull({ topic: "Orders", queueId: 0, offset: 0, maxCount: 5, maxBytes: 1000, pollMs: 400, commitOffset: 1 });
  assert.is(r.status, "FOUND");
  const { id: _, ...args } = seen!;
  assert.equal(args, { op: "pull", topic: "Orders", queueId: 0, offset: 0, maxCount: 5, maxBytes: 1000, pollMs: 400, group: "cg", commitOffset: 1 });
  assert.is((await rejection(slow.pull({ topic: "Orders", queueId: 0, offset: 0 }))).code, "TIMEOUT");
  await slow.shutdown();
});

test("bad pull arguments are refused on the client", async () => {
  assert.is((await rejection(consumer.pull({ topic: "Orders", queueId: -1, offset: 0 }))).code, "BAD_REQUEST");
  assert.is((await rejection(consumer.pull({ topic: "Orders", queueId: 0 } as never))).code, "MISSING_FIELD");
  assert.is((await rejection(consumer.pull({ topic: "Orders", queueId: 0, offset: 1.5 }))).code, "WRONG_TYPE");
  assert.is((await rejection(consumer.pull({ topic: "no such!", queueId: 0, offset: 0 }))).code, "BAD_REQUEST");
  assert.is((await rejection(consumer.pull({ topic: "Missing", queueId: 0, offset: 0 }))).code, "TOPIC_NOT_FOUND");
  assert.throws(() => new PullConsumer({ endpoints: server.url } as never), (e: BrokerError) => e.code === "MISSING_FIELD");
});

test("offsets are committed and queried per group and queue", async () => {
  assert.is(await consumer.queryOffset({ topic: "Orders", queueId: 0 }), -1);
  await consumer.commitOffset({ topic: "Orders", queueId: 0, offset: 2 });
  assert.is(await consumer.queryOffset({ topic: "Orders", queueId: 0 }), 2);
  const other = new PullConsumer({ endpoints: server.url, group: "other" });
  assert.is(await other.queryOffset({ topic: "Orders", queueId: 0 }), -1);
  await other.shutdown();
});

test("shutdown fails a long poll in flight with CONNECTION_CLOSED", async () => {
  const c = new PullConsumer({ endpoints: server.url, group: "cg" });
  server.intercept = (req) => (req.op === "pull" ? "drop" : undefined);
  const p = rejection(c.pull({ topic: "Orders", queueId: 0, offset: 2, pollMs: 10_000 }));
  await new Promise((r) => setTimeout(r, 20));
  await c.shutdown();
  assert.is((await p).code, "CONNECTION_CLOSED");
});

test("Admin: topics, status, and messages by id and by key", async () => {
  const created = await admin.createTopic("Admin", 3, 6);
  assert.equal(created, { topic: "Admin", queues: 3, perm: 6 });
  const list = await admin.topicList();
  assert.ok(list.some((t) => t.topic === "Admin" && t.queues === 3));
  const sent = await producer.send({ topic: "Admin", body: "find me", keys: ["key-1", "key-2"] });
  const status = await admin.topicStatus("Admin");
  assert.is(status.topic, "Admin");
  assert.is(status.queues.length, 3);
  assert.is(status.queues.reduce((n, q) => n + q.maxOffset, 0), 1);
  const byId = await admin.queryMessage({ msgId: sent.msgId });
  assert.is(byId.length, 1);
  assert.is(byId[0].body, "find me");
  assert.is(byId[0].queueId, sent.queue.queueId);
  assert.is(byId[0].queueOffset, sent.queueOffset);
  const byKey = await admin.queryMessage({ topic: "Admin", key: "key-2" });
  assert.is(byKey[0].id, sent.msgId);
  assert.equal(await admin.queryMessage({ topic: "Admin", key: "nothing" }), []);
  assert.is((await rejection(admin.topicStatus("Nope"))).code, "TOPIC_NOT_FOUND");
  assert.is((await rejection(admin.queryMessage({} as never))).code, "MISSING_FIELD");
});

test.after(async () => {
  await Promise.all([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
  await server.close();
});
test.run();
