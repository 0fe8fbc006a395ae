// The Producer against a real WebSocket server (the in-memory echo broker): coalescing, queue
// choice, retries, per-message errors, shutdown.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BrokerError, decode } from "../protocol/mod.ts";
import { Admin, Producer, SendBatchError } from "../client/mod.ts";
import { startEchoServer } from "./helpers/client-echo-server.ts";
import { rejection } from "./helpers/rejection.ts";

const server = await startEchoServer();
const admin = new Admin({ endpoints: server.url });
await admin.start();


const sendFrames = (from = 0) => server.requests.slice(from).filter((r) => r.op === "send" || r.op === "sendBatch");

test.after.each(() => {
  server.intercept = () => undefined;
});

test("1,000 concurrent sends travel in a handful of frames, each caller with its own result", async () => {
  await admin.createTopic("Many", 4);
  const producer = new Producer({ endpoints: server.url, group: "pg" });
  await producer.start();
  const from = server.requests.length;
  const body = new Uint8Array(1024).fill(1);
  const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => producer.send({ topic: "Many", body, keys: [`k${i}`] })));
  const frames = sendFrames(from);
  assert.ok(frames.length <= 6, `${frames.length} frames`);
  assert.is(frames.reduce((n, f) => n + f.msgs, 0), 1000);
  assert.ok(frames.every((f) => f.msgs <= 256), "no frame above maxBatchMessages");
  assert.is(new Set(results.map((r) => r.msgId)).size, 1000);
  assert.is(new Set(results.map((r) => `${r.queue.queueId}:${r.queueOffset}`)).size, 1000, "each its own place");
  for (const r of results) {
    assert.is(r.status, "SEND_OK");
    assert.is(r.queue.topic, "Many");
    assert.is(r.queue.broker, "echo-broker");
  }
  // Round-robin: the four queues share the messages evenly.
  const perQueue = [0, 1, 2, 3].map((q) => results.filter((r) => r.queue.queueId === q).length);
  assert.equal(perQueue, [250, 250, 250, 250]);
  // The stored message is what the producer encoded, and the result names it.
  const stored = server.topics.get("Many")!.queues[results[7].queue.queueId][results[7].queueOffset];
  assert.is(stored.msg.id, results[7].msgId);
  assert.is(stored.msg.group, "pg");
  assert.is((decode(stored.bytes) as { keys: string[] }).keys[0], "k7");
  await producer.shutdown();
});

test("senders that await each send and send again still share frames", async () => {
  const producer = new Producer({ endpoints: server.url });
  await producer.send({ topic: "Many", body: "warm" });
  const from = server.requests.length;
  // 200 workers, 5 sends each: the answers to one frame wake all of them in one turn.
  await Promise.all(Array.from({ length: 200 }, async (_, w) => {
    for (let i = 0; i < 5; i++) await producer.send({ topic: "Many", body: `w${w}-${i}` });
  }));
  const frames = sendFrames(from);
  assert.is(frames.reduce((n, f) => n + f.msgs, 0), 1000);
  assert.ok(frames.length <= 10, `${frames.length} frames for 1,000 sends`);
  await producer.shutdown();
});

test("a topic without a route is sent without queue ids (the broker creates it), then routed", async () => {
  const producer = new Producer({ endpoints: server.url });
  const from = server.requests.length;
  const first = await producer.send({ topic: "Fresh", body: "one" });
  assert.is(first.status, "SEND_OK");
  assert.is(first.queue.broker, "echo-broker", "named from the route asked for after the topic was created");
  const second = await producer.send({ topic: "Fresh", body: "two" });
  const third = await producer.send({ topic: "Fresh", body: "three" });
  const ops = server.requests.slice(from).map((r) => r.op);
  assert.equal(ops, ["queryRoute", "send", "queryRoute", "send", "send"]);
  const frames = sendFrames(from);
  assert.is(frames[0].queueIds, undefined, "the broker picks the first queue");
  assert.ok(frames[1].queueIds && frames[2].queueIds, "later sends name their queue");
  assert.is((third.queue.queueId - second.queue.queueId + 4) % 4, 1, "round-robin");
  assert.is(second.queue.broker, "echo-broker");
  await producer.shutdown();
});

test("SERVICE_UNAVAILABLE and a dropped connection are retried; the message gets through", async () => {
  await admin.createTopic("Retry", 2);
  const producer = new Producer({ endpoints: server.url });
  await producer.start();
  await producer.send({ topic: "Retry", body: "warm" });
  let n = 0;
  server.intercept = (req) => (req.op === "send" && n++ === 0 ? { error: "SERVICE_UNAVAILABLE" } : undefined);
  let from = server.requests.length;
  const r = await producer.send({ topic: "Retry", body: "x" });
  assert.is(r.status, "SEND_OK");
  assert.is(sendFrames(from).length, 2);

  n = 0;
  const connections = server.connections;
  server.intercept = (req) => (req.op === "send" && n++ === 0 ? "close" : undefined);
  from = server.requests.length;
  const r2 = await producer.send({ topic: "Retry", body: "y" });
  assert.is(r2.status, "SEND_OK");
  assert.is(sendFrames(from).length, 2);
  assert.is(server.connections, connections + 1, "the retry went over a fresh connection");
  await producer.shutdown();
});

test("retries stop at retryTimesWhenSendFailed; other errors are not retried", async () => {
  await admin.createTopic("NoRetry", 2);
  const producer = new Producer({ endpoints: server.url, retryTimesWhenSendFailed: 1 });
  await producer.send({ topic: "NoRetry", body: "warm" });
  server.intercept = (req) => (req.op === "send" ? { error: "SERVICE_UNAVAILABLE" } : undefined);
  let from = server.requests.length;
  assert.is((await rejection(producer.send({ topic: "NoRetry", body: "x" }))).code, "SERVICE_UNAVAILABLE");
  assert.is(sendFrames(from).length, 2, "one try and one retry");

  server.intercept = (req) => (req.op === "send" ? { error: "NO_PERMISSION", message: "not writable" } : undefined);
  from = server.requests.length;
  const e = await rejection(producer.send({ topic: "NoRetry", body: "x" }));
  assert.is(e.code, "NO_PERMISSION");
  assert.is(e.message, "not writable");
  assert.is(sendFrames(from).length, 1);
  server.intercept = () => undefined;
  await producer.shutdown();
});

test("no answer within sendTimeoutMs rejects with TIMEOUT", async () => {
  const producer = new Producer({ endpoints: server.url, sendTimeoutMs: 200 });
  await producer.send({ topic: "NoRetry", body: "warm" });
  server.intercept = (req) => (req.op === "send" ? "drop" : undefined);
  const started = Date.now();
  assert.is((await rejection(producer.send({ topic: "NoRetry", body: "x" }))).code, "TIMEOUT");
  const took = Date.now() - started;
  assert.ok(took >= 190 && took < 1000, `took ${took} ms`);
  server.intercept = () => undefined;
  await producer.shutdown();
});

test("one bad message in a coalesced frame fails alone", async () => {
  await admin.createTopic("Mixed", 2);
  const producer = new Producer({ endpoints: server.url });
  await producer.send({ topic: "Mixed", body: "warm" });
  const out = await Promise.allSettled([
    producer.send({ topic: "Mixed", body: "a", queueId: 0 }),
    producer.send({ topic: "Mixed", body: "b", queueId: 9 }), // the topic has 2 queues
    producer.send({ topic: "Mixed", body: "c", queueId: 1 }),
  ]);
  assert.equal(out.map((o) => o.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.is((out[1] as PromiseRejectedResult).reason.code, "QUEUE_NOT_FOUND");
  assert.is((out[0] as PromiseFulfilledResult<{ queue: { queueId: number } }>).value.queue.queueId, 0);
  assert.is((out[2] as PromiseFulfilledResult<{ queue: { queueId: number } }>).value.queue.queueId, 1);
  await producer.shutdown();
});

test("bad messages are refused before anything is sent", async () => {
  const producer = new Producer({ endpoints: server.url });
  const from = server.requests.length;
  assert.is((await rejection(producer.send({ topic: "bad topic", body: "x" }))).code, "BAD_REQUEST");
  assert.is((await rejection(producer.send({ topic: "T" } as never))).code, "MISSING_FIELD");
  assert.is((await rejection(producer.send({ topic: "T", body: new Uint8Array(5 * 1024 * 1024) }))).code, "MESSAGE_TOO_LARGE");
  const batch = await rejection(producer.sendBatch([{ topic: "T", body: "ok" }, { topic: "T", body: 1 } as never]));
  assert.is(batch.code, "WRONG_TYPE");
  assert.match(batch.message, /msgs\[1\]/);
  assert.is(server.requests.length, from, "no frame left");
  assert.throws(() => new Producer({ endpoints: server.url, sendTimeoutMs: -1 }), (e: BrokerError) => e.code === "BAD_REQUEST");
  await producer.shutdown();
});

test("sendBatch: one result per message in order, or a SendBatchError holding each outcome", async () => {
  const producer = new Producer({ endpoints: server.url, maxBatchMessages: 8 });
  const from = server.requests.length;
  const msgs = Array.from({ length: 20 }, (_, i) => ({ topic: "Mixed", body: `m${i}` }));
  const results = await producer.sendBatch(msgs);
  assert.is(results.length, 20);
  for (let i = 0; i < 20; i++) {
    const stored = server.topics.get("Mixed")!.queues[results[i].queue.queueId][results[i].queueOffset];
    assert.is(stored.msg.body, `m${i}`);
  }
  assert.equal(sendFrames(from).map((f) => f.msgs), [8, 8, 4]);
  const e = await rejection(producer.sendBatch([{ topic: "Mixed", body: "fine" }, { topic: "Mixed", body: "lost", queueId: 7 }]));
  assert.ok(e instanceof SendBatchError);
  assert.is(e.code, "QUEUE_NOT_FOUND");
  const per = (e as SendBatchError).results;
  assert.is((per[0] as { status: string }).status, "SEND_OK");
  assert.is((per[1] as BrokerError).code, "QUEUE_NOT_FOUND");
  await producer.shutdown();
});

test("a sharding key keeps its queue; an explicit queue id is honoured", async () => {
  await admin.createTopic("Keyed", 8);
  const producer = new Producer({ endpoints: server.url });
  const keyed = await Promise.all(Array.from({ length: 20 }, () => producer.send({ topic: "Keyed", body: "k", shardingKey: "order-42" })));
  assert.is(new Set(keyed.map((r) => r.queue.queueId)).size, 1);
  const chosen = await producer.send({ topic: "Keyed", body: "q", queueId: 5 });
  assert.is(chosen.queue.queueId, 5);
  await producer.shutdown();
});

test("shutdown waits for sends in flight, then refuses new ones", async () => {
  const producer = new Producer({ endpoints: server.url });
  await producer.send({ topic: "Mixed", body: "warm" });
  server.intercept = (req) => (req.op === "send" || req.op === "sendBatch" ? { delayMs: 100 } : undefined);
  let sent = false;
  const p = producer.send({ topic: "Mixed", body: "late" }).then(() => (sent = true));
  await producer.shutdown();
  assert.ok(sent, "the send finished before shutdown returned");
  await p;
  assert.is((await rejection(producer.send({ topic: "Mixed", body: "after" }))).code, "CONNECTION_CLOSED");
});

test("endpoints fail over: an unreachable first endpoint, a live second one", async () => {
  const dead = await startEchoServer();
  await dead.close();
  const producer = new Producer({ endpoints: [dead.url, server.url.replace("ws://", "").replace("/ws", "")] });
  await producer.start();
  const r = await producer.send({ topic: "Mixed", body: "via the second" });
  assert.is(r.status, "SEND_OK");
  await producer.shutdown();
});

test.after(async () => {
  await admin.shutdown();
  await server.close();
});
test.run();
