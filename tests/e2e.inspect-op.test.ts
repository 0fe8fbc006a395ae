// The inspect op over a real socket, without a browser: the reply is the actor tree and the
// machines' states; frames follow at the interval with the actors that changed, a sample of
// the events (the first maxEvents of each interval: the broker stops watching once it has them),
// and the overview (per-topic counters, group lag);
// never a message body. Stop ends the frames; bad arguments get named errors. The console's other
// requests: overview, browseMessages, resendMessage.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encode, ErrorCode } from "../protocol/mod.ts";
import { Producer, PullConsumer } from "../client/mod.ts";
import { rawSocket } from "./helpers/raw-socket.ts";
import { startBroker, until } from "./helpers/broker.ts";

const env = await startBroker();
const MARKER = "SECRET-BODY-7f3a";

type Frame = Record<string, any>;

/** Each test starts with no subscriber left from the one before (sockets close asynchronously). */
const noSubscribers = () => until("earlier subscriptions to end", () => !env.broker.inspector.active);

test("the reply is the whole actor tree with the machines' definitions", async () => {
  await noSubscribers();
  const s = await rawSocket(env.url);
  s.send(encode({ id: 1, op: "inspect" }));
  const r = await s.next();
  assert.is(r.code, 0);
  const actors = r.actors as Frame[];
  const root = actors.find((a) => a.id === "broker")!;
  assert.equal([root.kind, root.parent, root.value, root.status], ["broker", null, "running", "active"]);
  assert.equal(root.context.restarts, {}, "the root's context is data");
  const delay = actors.filter((a) => a.kind === "delay");
  assert.is(delay.length, 18);
  assert.ok(delay.every((a) => a.parent === "broker"));
  assert.ok(actors.some((a) => a.id === "timer"));
  const queue = actors.find((a) => a.id === "queue:SCHEDULE_TOPIC_XXXX:0")!;
  assert.equal([queue.kind, queue.parent, queue.value, queue.context.queueId], ["queue", "topics", "idle", 0]);
  // One definition per kind: states, initial state, transitions by event.
  const machines = r.machines as Frame;
  assert.equal(Object.keys(machines.queue.states).sort(), ["holding", "idle"]);
  assert.is(machines.queue.initial, "idle");
  assert.ok(machines.queue.states.idle.on.some(([e, t]: [string, string]) => e === "PULL" && t === "holding"));
  assert.ok(machines.broker.states.running.on.some(([e]: [string]) => e === "after untilSnapshot"));
  for (const k of ["broker", "queue", "delay", "timer"]) assert.ok(machines[k], `machine ${k}`);
  s.close();
});

test("frames carry changed actors, sampled events, and about once a second the overview (counters, lag), never a body", async () => {
  await noSubscribers();
  const s = await rawSocket(env.url);
  const producer = new Producer({ endpoints: env.url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: env.url, group: "op-cg" });
  try {
    s.send(encode({ id: 1, op: "inspect", intervalMs: 100 }));
    assert.is((await s.next()).code, 0);
    await Promise.all([producer.start(), consumer.start()]);
    for (let i = 0; i < 20; i++) await producer.send({ topic: "InspOp", body: `${MARKER} ${i}`, queueId: i % 2 });
    await consumer.pull({ topic: "InspOp", queueId: 0, offset: 0, maxCount: 4 });
    await consumer.commitOffset({ topic: "InspOp", queueId: 0, offset: 4 });

    const frames: Frame[] = [];
    const maxOffsets = new Map<string, number>();
    const events: Frame[] = [];
    let machines: Frame = {};
    let overview: Frame | null = null;
    const lagOf = (o: Frame | null, group: string) => o?.groups.find((g: Frame) => g.group === group)?.lag;
    await until("frames showing all 20 appends and the group", async () => {
      const f: Frame = await s.next(5000);
      assert.is(f.op, "inspect");
      frames.push(f);
      for (const a of f.actors) if (a.kind === "queue" && a.context.topic === "InspOp") maxOffsets.set(a.id, a.context.maxOffset);
      events.push(...f.events);
      machines = { ...machines, ...f.machines };
      overview = f.overview ?? overview;
      return maxOffsets.get("queue:InspOp:0") === 10 && maxOffsets.get("queue:InspOp:1") === 10 && lagOf(overview, "op-cg") === 6; // committed 4 of queue 0's 10
    }, 15_000, 0);
    const topic = overview!.topics.find((t: Frame) => t.topic === "InspOp");
    assert.equal([topic.kind, topic.queues, topic.messages, topic.counters[0]], ["user", 4, 20, 20], "messages stored and in, per topic (auto-created with 4 queues)");
    assert.ok(topic.counters[1] > 20 * MARKER.length, "bytes in, per topic");
    assert.equal(overview!.groups.find((g: Frame) => g.group === "op-cg").queues, [["InspOp", 0, 4, 10, 6]], "lag per queue: topic, queue, committed, max, lag");
    const withOverview = frames.filter((f) => f.overview).map((f) => f.now);
    for (let i = 1; i < withOverview.length; i++) assert.ok(withOverview[i] - withOverview[i - 1] >= 1000, "the overview at most once a second");
    // A write's APPENDED goes straight to each queue's actor (from outside the actor system); a
    // commit is routed by the root and the groups actor to the group's.
    assert.ok(events.some((e) => e.to === "queue:InspOp:0" && e.type === "APPENDED" && e.from === null));
    assert.ok(events.some((e) => e.to === "broker" && e.type === "COMMIT_OFFSET" && e.from === null));
    assert.ok(events.some((e) => e.to === "groups" && e.type === "COMMIT_OFFSET" && e.from === "broker"));
    assert.ok(events.some((e) => e.to === "group:op-cg" && e.type === "COMMIT_OFFSET" && e.from === "groups"));
    assert.ok(machines.group, "a new kind's machine arrives with its first actor");
    assert.ok(frames.every((f) => f.seen >= f.events.length));
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i].now - frames[i - 1].now >= 80, "one frame per interval");
    for (const f of frames) assert.not.ok(JSON.stringify(f).includes(MARKER), "no message body in any frame");
  } finally {
    await Promise.all([producer.shutdown(), consumer.shutdown()]);
    s.close();
  }
});

test("maxEvents caps the sample and the broker stops watching once it has it; changed actors still arrive", async () => {
  await noSubscribers();
  const s = await rawSocket(env.url);
  const producer = new Producer({ endpoints: env.url, group: "pg" });
  try {
    s.send(encode({ id: 1, op: "inspect", intervalMs: 200, maxEvents: 3 }));
    assert.is((await s.next()).code, 0);
    await producer.start();
    const sending = (async () => {
      for (let i = 0; i < 200; i++) await producer.send({ topic: "InspCap", body: "x", queueId: 0 });
    })();
    let filledEarly = 0;
    let maxOffset = 0;
    await until("the queue's 200 appends seen through its snapshots, samples filling early meanwhile", async () => {
      const f: Frame = await s.next(5000);
      assert.ok(f.events.length <= 3, `at most 3 events per frame, got ${f.events.length}`);
      assert.is(f.seen, f.events.length, "the broker watches for the sample only");
      const counted = Object.values(f.counts as Record<string, number>).reduce((a, b) => a + b, 0);
      assert.is(counted, f.seen, "counts by type add up to the sample");
      assert.ok(f.watchedMs >= 0 && f.watchedMs <= 1000, `watchedMs ${f.watchedMs}`);
      if (f.events.length === 3 && f.watchedMs < 150) filledEarly++;
      for (const a of f.actors) if (a.id === "queue:InspCap:0") maxOffset = a.context.maxOffset;
      return maxOffset === 200 && filledEarly > 0;
    }, 20_000, 0);
    await sending;
  } finally {
    await producer.shutdown();
    s.close();
  }
});

test("stop ends the frames; a closed socket ends its subscription", async () => {
  await noSubscribers();
  const s = await rawSocket(env.url);
  s.send(encode({ id: 1, op: "inspect", intervalMs: 50 }));
  assert.is((await s.next()).code, 0);
  assert.is((await s.next()).op, "inspect"); // frames flow
  s.send(encode({ id: 2, op: "inspect", stop: true }));
  // Frames already on the wire may precede the reply.
  let r = await s.next();
  while (r.op === "inspect") r = await s.next();
  assert.equal([r.id, r.code, r.stopped], [2, 0, true]);
  assert.not.ok(env.broker.inspector.active);
  // Nothing more comes: the next frame is the answer to a later request.
  s.send(encode({ id: 3, op: "topicList" }));
  assert.is((await s.next()).id, 3);

  const t = await rawSocket(env.url);
  t.send(encode({ id: 1, op: "inspect" }));
  assert.is((await t.next()).code, 0);
  assert.ok(env.broker.inspector.active);
  const metrics = await (await fetch(`http://127.0.0.1:${env.broker.port}/metrics`)).text();
  assert.match(metrics, /^actormq_inspect_subscribers 1$/m);
  t.close();
  await until("the subscription to end with its socket", () => !env.broker.inspector.active);
  s.close();
});

test("bad arguments get named errors", async () => {
  await noSubscribers();
  const s = await rawSocket(env.url);
  s.send(encode({ id: 1, op: "inspect", intervalMs: "fast" }));
  assert.equal([(await s.next()).code], [ErrorCode.WRONG_TYPE]);
  s.send(encode({ id: 2, op: "inspect", stop: 1 }));
  assert.equal([(await s.next()).code], [ErrorCode.WRONG_TYPE]);
  s.send(encode({ id: 3, op: "inspect", maxEvents: -5 }));
  assert.equal([(await s.next()).code], [ErrorCode.WRONG_TYPE]);
  assert.not.ok(env.broker.inspector.active);
  s.close();
});

test("overview, browseMessages and resendMessage: answers, and bad input refused with named codes", async () => {
  const s = await rawSocket(env.url);
  const producer = new Producer({ endpoints: env.url, group: "pg" });
  try {
    await producer.start();
    for (let i = 0; i < 6; i++) await producer.send({ topic: "Browse", body: `b${i}`, queueId: i % 2 });
    s.send(encode({ id: 1, op: "overview" }));
    const o: Frame = (await s.next()).overview as Frame;
    assert.equal(o.topics.find((t: Frame) => t.topic === "Browse").messages, 6);
    // A topic oldest first across its queues, capped at max with "more"; one queue; a time range.
    s.send(encode({ id: 2, op: "browseMessages", topic: "Browse", max: 4 }));
    let r: Frame = await s.next();
    assert.equal([r.code, r.more, r.msgs.map((m: unknown[]) => [m[1], m[2]])], [0, true, [[0, 0], [1, 0], [0, 1], [1, 1]]], "in store order");
    const firstOffset = r.msgs[0][3] as number;
    s.send(encode({ id: 3, op: "browseMessages", topic: "Browse", queueId: 1 }));
    r = await s.next();
    assert.equal([r.more, r.msgs.map((m: unknown[]) => [m[1], m[2]])], [false, [[1, 0], [1, 1], [1, 2]]]);
    const stamps = r.msgs.map((m: unknown[]) => m[4] as number);
    s.send(encode({ id: 4, op: "browseMessages", topic: "Browse", queueId: 1, from: stamps[1], to: stamps[1] }));
    r = await s.next();
    assert.ok(r.msgs.length >= 1 && r.msgs.every((m: unknown[]) => m[4] === stamps[1]), "only what was stored in the range");
    // Refused: a range backwards, a topic that does not exist, resending a message that is no dead letter.
    s.send(encode({ id: 5, op: "browseMessages", topic: "Browse", from: 10, to: 5 }));
    assert.is((await s.next()).code, ErrorCode.BAD_REQUEST);
    s.send(encode({ id: 6, op: "browseMessages", topic: "NoSuchTopic" }));
    assert.is((await s.next()).code, ErrorCode.TOPIC_NOT_FOUND);
    s.send(encode({ id: 7, op: "resendMessage", commitLogOffset: firstOffset }));
    r = await s.next();
    assert.equal([r.code, /only dead letters are resent/.test(r.message)], [ErrorCode.BAD_REQUEST, true]);
    s.send(encode({ id: 8, op: "resendMessage", commitLogOffset: 1e12 }));
    assert.is((await s.next()).code, ErrorCode.BAD_REQUEST);
    s.send(encode({ id: 9, op: "resendMessage" }));
    assert.is((await s.next()).code, ErrorCode.MISSING_FIELD);
  } finally {
    await producer.shutdown();
    s.close();
  }
});

test.after(() => env.stop());
test.run();
