// PushConsumer behaviours against a real broker: flow control per queue, committed offsets that
// never pass an unfinished message, broadcasting, tag filtering with hash collisions, and
// resetOffset by time.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, type MessageView, MemoryOffsetStore, Producer, PullConsumer, PushConsumer, type PushConsumerOptions } from "../client/mod.ts";
import { tagsCode } from "../protocol/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";

const env = await startBroker({ segmentSize: 16 * 1024 * 1024 });
const admin = new Admin({ endpoints: env.url });
const producer = new Producer({ endpoints: env.url, group: "pg" });
await Promise.all([admin.start(), producer.start()]);

const started: PushConsumer[] = [];
const blocked: (() => void)[] = [];

function consumer(options: Partial<PushConsumerOptions> & Pick<PushConsumerOptions, "group" | "subscriptions">): PushConsumer {
  const c = new PushConsumer({ endpoints: env.url, consumeFrom: "first", handler: () => "SUCCESS", ...options });
  started.push(c);
  return c;
}

async function sendAll(topic: string, n: number, make: (i: number) => { body: string | Uint8Array; tags?: string } = (i) => ({ body: `m${i}` })) {
  const ids: string[] = [];
  for (let start = 0; start < n; start += 500) {
    const batch = [];
    for (let i = start; i < Math.min(n, start + 500); i++) batch.push(producer.send({ topic, ...make(i) }).then((r) => (ids[i] = r.msgId)));
    await Promise.all(batch);
  }
  return ids;
}

const tick = () => new Promise((r) => setTimeout(r, 2)); // a slow handler's work
const queueStats = (c: PushConsumer, topic: string, queueId = 0) => c.stats().queues.find((q) => q.topic === topic && q.queueId === queueId)!;

test("flow control: a slow handler keeps at most the threshold plus one pull batch cached", async () => {
  await admin.createTopic("Slow", 1);
  await sendAll("Slow", 600);
  let done = 0;
  const c = consumer({
    group: "cg-slow",
    subscriptions: { Slow: "*" },
    pullThresholdForQueue: 50,
    pullBatchSize: 32,
    concurrency: 2,
    persistOffsetIntervalMs: 20,
    handler: async () => {
      await tick();
      done++;
      return "SUCCESS";
    },
  });
  await c.start();
  await until("600 consumed", () => done === 600, 30_000);
  const s = queueStats(c, "Slow");
  assert.ok(s.maxCachedCount <= 50 + 32, `at most 82 cached, saw ${s.maxCachedCount}`);
  assert.ok(s.maxCachedCount > 50, `the threshold was reached (${s.maxCachedCount})`);
  assert.ok(s.pausedCount > 0, "pulling paused");
  assert.is(s.cachedCount, 0);
  await until("everything committed", async () => (await admin.consumerProgress("cg-slow")).queues.find((q) => q.topic === "Slow")!.consumerOffset === 600);
});

test("flow control by size: cached bodies stay under the MiB threshold plus one pull batch", async () => {
  await admin.createTopic("Heavy", 1);
  const body = new Uint8Array(4096);
  await sendAll("Heavy", 200, () => ({ body }));
  let done = 0;
  const c = consumer({
    group: "cg-heavy",
    subscriptions: { Heavy: "*" },
    pullThresholdSizeForQueue: 32 / 1024, // 32 KiB
    pullBatchSize: 16,
    concurrency: 1,
    handler: async () => {
      await tick();
      done++;
      return "SUCCESS";
    },
  });
  await c.start();
  await until("200 consumed", () => done === 200, 30_000);
  const s = queueStats(c, "Heavy");
  assert.ok(s.maxCachedBytes <= 32 * 1024 + 16 * 4096, `at most 96 KiB cached, saw ${s.maxCachedBytes}`);
  assert.ok(s.maxCachedCount < 1000 && s.pausedCount > 0, "the size paused pulling, not the count");
});

test("flow control by span: with one message stuck and a slow handler, pulling pauses at the span; the commit stays at it", async () => {
  // RocketMQ's span is between the oldest and newest *cached* (unfinished) message: it bites
  // when newer messages are still waiting behind a stuck old one, as with a slow handler.
  await admin.createTopic("Span", 1);
  await sendAll("Span", 500);
  let release!: () => void;
  const stuck = new Promise<void>((r) => blocked.push((release = r)));
  let done = 0;
  const c = consumer({
    group: "cg-span",
    subscriptions: { Span: "*" },
    consumeConcurrentlyMaxSpan: 100,
    concurrency: 2, // one slot held by the stuck message, one working slowly
    persistOffsetIntervalMs: 20,
    handler: async (m) => {
      if (m.queueOffset === 0) await stuck;
      else await tick();
      done++;
      return "SUCCESS";
    },
  });
  await c.start();
  // From 0: a pull of 32 (span 31); the queue is behind, so the next asks for what the span has
  // room for, 68 (span 99); then a pull of 32 again takes it to 131 > 100, and pulling pauses at
  // offset 132 until the slow slot has worked through everything newer than the stuck message.
  await until("paused on the span", () => queueStats(c, "Span").pausedCount > 0);
  const s = queueStats(c, "Span");
  assert.is(s.nextOffset, 132, "the pull stopped at the first span past 100");
  assert.is(s.maxSpanSeen, 131);
  assert.ok(s.maxCachedCount < 1000, "not on the count");
  await until("all but the stuck message consumed", () => done === 499, 30_000);
  assert.ok(queueStats(c, "Span").pausedCount > 1, "paused again after each catch-up");
  assert.is(queueStats(c, "Span").committableOffset, 0, "the commit stays at the stuck message");
  const progress = await admin.consumerProgress("cg-span");
  assert.ok(progress.queues.find((q) => q.topic === "Span")!.consumerOffset <= 0, "the broker has nothing past it");
  release();
  await until("all consumed", () => done === 500, 30_000);
  await until("committed to the end", async () => (await admin.consumerProgress("cg-span")).queues.find((q) => q.topic === "Span")!.consumerOffset === 500);
});

test("offsets: a consumer that dies mid-stream is resumed at its committed offset, never past an unfinished message", async () => {
  await admin.createTopic("Resume", 1);
  await sendAll("Resume", 100);
  const seen1 = new Set<number>();
  const c1 = consumer({
    group: "cg-resume",
    subscriptions: { Resume: "*" },
    persistOffsetIntervalMs: 20,
    handler: async (m) => {
      if (m.queueOffset === 40) await new Promise<void>((r) => blocked.push(r)); // never finishes while c1 lives
      seen1.add(m.queueOffset);
      return "SUCCESS";
    },
  });
  await c1.start();
  const offsets = new PullConsumer({ endpoints: env.url, group: "cg-resume" });
  await offsets.start();
  const committed: number[] = [];
  await until("everything but offset 40 consumed and committed up to it", async () => {
    const o = await offsets.queryOffset({ topic: "Resume", queueId: 0 });
    committed.push(o);
    return seen1.size === 99 && o === 40;
  });
  assert.ok(committed.every((o) => o <= 40), `never past the unfinished message: ${committed.join(",")}`);
  await c1.kill();
  // The broker saw the close: the group is empty until the next member.
  await until("c1 left the group", async () => (await admin.consumerProgress("cg-resume")).members.length === 0);

  const seen2: number[] = [];
  const c2 = consumer({ group: "cg-resume", subscriptions: { Resume: "*" }, handler: (m) => (seen2.push(m.queueOffset), "SUCCESS") });
  await c2.start();
  await until("c2 consumed from 40 to the end", () => seen2.length >= 60);
  assert.is(Math.min(...seen2), 40, "resumed at the committed offset");
  assert.equal([...seen2].sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => 40 + i));
  await offsets.shutdown();
});

test("broadcasting: each of 3 members receives every message; offsets stay in the client's store", async () => {
  await admin.createTopic("Bcast", 4);
  const stores = [new MemoryOffsetStore(), new MemoryOffsetStore(), new MemoryOffsetStore()];
  const got = stores.map(() => [] as string[]);
  const members = stores.map((offsetStore, i) =>
    consumer({ group: "cg-bcast", subscriptions: { Bcast: "*" }, model: "broadcasting", offsetStore, persistOffsetIntervalMs: 20, handler: (m) => (got[i].push(m.id), "SUCCESS") })
  );
  await Promise.all(members.map((m) => m.start()));
  for (const m of members) assert.equal(m.assignedQueues().map((q) => `${q.topic}:${q.queueId}`), ["Bcast:0", "Bcast:1", "Bcast:2", "Bcast:3"]);
  const ids = await sendAll("Bcast", 400);
  await until("every member got every message", () => got.every((g) => g.length >= 400));
  for (const g of got) assert.equal([...g].sort(), [...ids].sort());
  // Offsets are the client's: the broker has none for a broadcasting group.
  const progress = await admin.consumerProgress("cg-bcast");
  assert.ok(progress.queues.every((q) => q.consumerOffset === -1), "no broker-side offsets");
  await members[0].shutdown();
  const total = [0, 1, 2, 3].reduce((n, q) => n + (stores[0].read("cg-bcast", { broker: "broker-a", topic: "Bcast", queueId: q }) ?? 0), 0);
  assert.is(total, 400);
  // A new member given member 0's store resumes there: only new messages.
  const later: string[] = [];
  const resumed = consumer({ group: "cg-bcast", subscriptions: { Bcast: "*" }, model: "broadcasting", offsetStore: stores[0], handler: (m) => (later.push(m.id), "SUCCESS") });
  await resumed.start();
  const more = await sendAll("Bcast", 8);
  await until("the resumed member got the new messages", () => later.length >= 8);
  assert.equal(later.sort(), [...more].sort());
});

test("tag filter: a `TagA || TagB` subscriber receives exactly the matching messages, hash collisions included", async () => {
  assert.is(tagsCode("Aa"), tagsCode("BB"), "Java's hashCode collides on Aa and BB");
  await admin.createTopic("Tags", 2);
  const tags = ["TagA", "TagB", "TagC", undefined, "Aa", "BB"];
  const ab: MessageView[] = [];
  const aa: MessageView[] = [];
  const c1 = consumer({ group: "cg-tags-ab", subscriptions: { Tags: "TagA || TagB" }, handler: (m) => (ab.push(m), "SUCCESS") });
  const c2 = consumer({ group: "cg-tags-aa", subscriptions: { Tags: "Aa" }, handler: (m) => (aa.push(m), "SUCCESS") });
  await Promise.all([c1.start(), c2.start()]);
  const ids = await sendAll("Tags", 600, (i) => ({ body: `t${i}`, tags: tags[i % tags.length] }));
  const want = (set: string[]) => ids.filter((_, i) => set.includes(tags[i % tags.length] as string)).sort();
  // Every queue scanned to its end by both members: whatever was coming has come.
  const status = await admin.topicStatus("Tags");
  const scanned = (c: PushConsumer) => status.queues.every((q) => queueStats(c, "Tags", q.queueId)?.nextOffset === q.maxOffset);
  await until("both scanned the topic", () => scanned(c1) && scanned(c2) && c1.stats().inFlight + c2.stats().inFlight === 0);
  assert.equal(ab.map((m) => m.id).sort(), want(["TagA", "TagB"]));
  assert.ok(ab.every((m) => m.tags === "TagA" || m.tags === "TagB"));
  assert.equal(aa.map((m) => m.id).sort(), want(["Aa"]), "BB shares Aa's hash: the broker lets it through, the client drops it");
});

test("resetOffset by time makes the group consume again from that time; consumerProgress shows the lag", async () => {
  await admin.createTopic("Reset", 2);
  const got: MessageView[] = [];
  const c = consumer({ group: "cg-reset", subscriptions: { Reset: "*" }, persistOffsetIntervalMs: 20, handler: (m) => (got.push(m), "SUCCESS") });
  await c.start();
  const first = await sendAll("Reset", 50);
  await until("the first batch consumed", () => got.length === 50);
  const lastStored = Math.max(...got.map((m) => m.storeTimestamp));
  const at = lastStored + 1;
  await until("the clock passed the reset time", () => Date.now() > at);
  const second = await sendAll("Reset", 50);
  await until("the second batch consumed", () => got.length === 100);
  await until("no lag", async () => {
    const p = await admin.consumerProgress("cg-reset");
    return p.totalLag === 0 && p.queues.filter((q) => q.topic === "Reset").every((q) => q.consumerOffset === q.brokerOffset && q.brokerOffset > 0);
  });

  const offsets = await admin.resetOffset("cg-reset", "Reset", at);
  const status = await admin.topicStatus("Reset");
  for (const q of status.queues) assert.ok(offsets[q.queueId] < q.maxOffset, "the reset moved back");
  await until("the second batch consumed again", () => got.length >= 150);
  const again = got.slice(100);
  assert.equal(again.map((m) => m.id).sort(), [...second].sort());
  assert.ok(again.every((m) => m.storeTimestamp >= at));
  assert.ok(!again.some((m) => first.includes(m.id)), "nothing from before the time");
  await until("caught up again", async () => (await admin.consumerProgress("cg-reset")).totalLag === 0);
});

test("a new group reads a queue whose first message is still stored from its start, by default (CONSUME_FROM_LAST_OFFSET) as with consumeFrom first", async () => {
  await admin.createTopic("Late", 2);
  const old = await sendAll("Late", 20);
  const last: string[] = [];
  const first: string[] = [];
  const c1 = new PushConsumer({ endpoints: env.url, group: "cg-late-last", subscriptions: { Late: "*" }, handler: (m) => (last.push(m.id), "SUCCESS") });
  const c2 = consumer({ group: "cg-late-first", subscriptions: { Late: "*" }, handler: (m) => (first.push(m.id), "SUCCESS") });
  started.push(c1);
  await Promise.all([c1.start(), c2.start()]);
  const fresh = await sendAll("Late", 6);
  await until("both got every message", () => last.length >= 26 && first.length >= 26);
  assert.equal(last.sort(), [...old, ...fresh].sort(), "RocketMQ's broker starts a new group at offset 0 while that message is stored");
  assert.equal(first.sort(), [...old, ...fresh].sort());
  // (A queue whose oldest messages were deleted starts at its end: tests/client.consumer-start.test.ts.)
});

test("batchHandler gets up to batchSize messages of one queue; a batch fails or succeeds as a whole", async () => {
  await admin.createTopic("Batch", 1);
  await sendAll("Batch", 95);
  const sizes: number[] = [];
  const offsets: number[] = [];
  const c = consumer({
    group: "cg-batch",
    subscriptions: { Batch: "*" },
    batchSize: 10,
    pullBatchSize: 32,
    batchHandler: (msgs) => {
      sizes.push(msgs.length);
      offsets.push(...msgs.map((m) => m.queueOffset));
      return "SUCCESS";
    },
    handler: undefined,
  });
  await c.start();
  await until("95 consumed", () => offsets.length === 95);
  assert.ok(sizes.every((n) => n >= 1 && n <= 10), `batch sizes ${sizes}`);
  assert.ok(sizes.filter((n) => n === 10).length >= 8, "full batches when a pull brings enough");
  assert.equal([...offsets].sort((a, b) => a - b), Array.from({ length: 95 }, (_, i) => i));
  assert.is(c.stats().succeeded, 95);
});

test("options are checked when the consumer is made", () => {
  const base = { endpoints: env.url, group: "g", subscriptions: { T: "*" }, handler: () => "SUCCESS" as const };
  assert.throws(() => new PushConsumer({ ...base, group: "bad group" }), /must be 1\.\.255 characters/);
  assert.throws(() => new PushConsumer({ ...base, subscriptions: {} }), /at least one topic/);
  assert.throws(() => new PushConsumer({ ...base, subscriptions: { T: "A || *" } }), /bad subscription expression/);
  assert.throws(() => new PushConsumer({ ...base, batchHandler: () => "SUCCESS" }), /one of handler/);
  assert.throws(() => new PushConsumer({ ...base, subscriptions: { T: "a | b" } }), /bad subscription expression "a \| b"/);
  assert.throws(() => new PushConsumer({ ...base, handlr: () => "SUCCESS" } as never), /unknown option "handlr" \(did you mean "handler"\?\)/);
  assert.throws(() => new PushConsumer({ ...base, batchSize: 4 }), /needs a batchHandler/);
  assert.throws(() => new PushConsumer({ ...base, model: "fanout" as never }), /model must be/);
  assert.throws(() => new PushConsumer({ ...base, allocate: "random" as never }), /allocate must be/);
  assert.throws(() => new PushConsumer({ ...base, concurrency: 0 }), /concurrency must be/);
  assert.throws(() => new PushConsumer({ ...base, consumeFrom: "middle" as never }), /consumeFrom must be/);
});

test.after(async () => {
  for (const release of blocked) release();
  await Promise.all(started.map((c) => c.shutdown(5000)));
  await Promise.all([producer.shutdown(), admin.shutdown()]);
  await env.stop();
});
test.run();
