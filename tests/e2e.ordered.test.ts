// Ordered messages end to end: the producer keeps a key's messages in one queue in send order
// (shardingKey, MessageQueueSelector); the broker's order locks (lockQueues / unlockQueues):
// one live member per queue, expiry, release on leaving; an orderly PushConsumer waits for a
// lock another member holds, and retries a failed message in place before the DLQ.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, type BrokerError, type MessageQueue, type MessageView, Producer, PullConsumer, PushConsumer, selectMessageQueueByHash } from "../client/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";
import { lockMember, queues } from "./helpers/lock-member.ts";
import { rejection } from "./helpers/rejection.ts";

const env = await startBroker();
const admin = new Admin({ endpoints: env.url });
const producer = new Producer({ endpoints: env.url, group: "pg" });
const reader = new PullConsumer({ endpoints: env.url, group: "reader" });
await Promise.all([admin.start(), producer.start(), reader.start()]);
const closers: (() => Promise<unknown>)[] = [];

/** Every message of a queue, in queue order. */
async function readQueue(topic: string, queueId: number): Promise<MessageView[]> {
  const out: MessageView[] = [];
  for (let offset = 0;;) {
    const r = await reader.pull({ topic, queueId, offset, maxCount: 256 });
    if (r.msgs.length === 0) return out;
    out.push(...r.msgs);
    offset = r.nextOffset;
  }
}

test("shardingKey: every key's messages land in one queue, in send order", async () => {
  await admin.createTopic("Sharded", 4);
  const keys = Array.from({ length: 40 }, (_, i) => `order-${i}`);
  const queueOfKey = new Map<string, Set<number>>();
  for (let seq = 0; seq < 25; seq++) {
    // One round per sequence number: a key's next message is sent after its previous one is stored.
    const results = await Promise.all(keys.map((k) => producer.send({ topic: "Sharded", body: `${k}:${seq}`, shardingKey: k })));
    results.forEach((r, i) => {
      const s = queueOfKey.get(keys[i]) ?? new Set();
      s.add(r.queue.queueId);
      queueOfKey.set(keys[i], s);
    });
  }
  for (const [k, qs] of queueOfKey) assert.is(qs.size, 1, `${k} went to one queue`);
  assert.ok(new Set([...queueOfKey.values()].map((s) => [...s][0])).size > 1, "the keys spread over several queues");
  for (let q = 0; q < 4; q++) {
    const next = new Map<string, number>();
    for (const m of await readQueue("Sharded", q)) {
      const [k, seq] = (m.body as string).split(":");
      assert.ok(queueOfKey.get(k)!.has(q), `${k} only in its queue`);
      assert.is(Number(seq), next.get(k) ?? 0, `${k} in send order`);
      next.set(k, Number(seq) + 1);
    }
  }
});

test("a MessageQueueSelector picks the queue from the route: by index, by queue, by hash of arg", async () => {
  await admin.createTopic("Selected", 4);
  const byArg = (queues: readonly MessageQueue[], _m: unknown, arg: unknown) => (arg as number) % queues.length;
  const sent: number[] = [];
  for (let i = 0; i < 12; i++) sent.push((await producer.send({ topic: "Selected", body: `n${i}` }, byArg, i)).queue.queueId);
  assert.equal(sent, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
  const last = (queues: readonly MessageQueue[]) => queues[queues.length - 1];
  assert.is((await producer.send({ topic: "Selected", body: "x" }, last)).queue.queueId, 3);
  const hashed = await Promise.all(Array.from({ length: 10 }, () => producer.send({ topic: "Selected", body: "h" }, selectMessageQueueByHash, "customer-42")));
  assert.is(new Set(hashed.map((r) => r.queue.queueId)).size, 1, "one arg, one queue");
  // Queue 1 holds n1, n5, n9 in that order (and maybe hashed ones after them).
  const q1 = (await readQueue("Selected", 1)).map((m) => m.body).filter((b) => (b as string).startsWith("n"));
  assert.equal(q1, ["n1", "n5", "n9"]);

  const bad = await rejection(producer.send({ topic: "Selected", body: "x" }, () => 7));
  assert.is(bad.code, "BAD_REQUEST");
  assert.match(bad.message, /MessageQueueSelector returned 7/);
  const thrown = await rejection(producer.send({ topic: "Selected", body: "x" }, () => {
    throw new Error("selector broke");
  }));
  assert.match(thrown.message, /selector broke/);
  const missing = await rejection(producer.send({ topic: "NoSuchTopicForSelector", body: "x" }, byArg, 1));
  assert.is(missing.code, "TOPIC_NOT_FOUND");
});

test("lockQueues: a queue a live member holds is not granted to another until released or the holder leaves", async () => {
  await admin.createTopic("Locked", 4);
  const subs = { Locked: "*" };
  const a = await lockMember(env.url, "cg-locks", "member-a", subs);
  const b = await lockMember(env.url, "cg-locks", "member-b", subs);
  closers.push(a.close, b.close);
  assert.equal(await a.lock(queues("Locked", 0, 1)), [0, 1]);
  assert.equal(await b.lock(queues("Locked", 0, 1, 2)), [2], "0 and 1 are a's");
  assert.equal(await a.lock(queues("Locked", 0, 1, 2)), [0, 1], "a renews its own; 2 is b's");
  assert.equal(await b.unlock(queues("Locked", 0)), [], "b cannot free a's lock");
  assert.equal(await b.lock(queues("Locked", 0)), []);
  assert.equal(await a.unlock(queues("Locked", 0)), [0]);
  assert.equal(await b.lock(queues("Locked", 0)), [0], "released: b takes it");
  // Another group locks the same queues independently.
  const other = await lockMember(env.url, "cg-other", "member-c", subs);
  closers.push(other.close);
  assert.equal(await other.lock(queues("Locked", 0, 1, 2, 3)), [0, 1, 2, 3]);
  // a leaves (its connection closes): its lock on 1 is free at once, long before the 60 s expiry.
  await a.close();
  await until("a left the group", async () => !((await b.request("consumerList", { group: "cg-locks" })).clientIds as string[]).includes("member-a"));
  const lockOf1 = () => (env.broker.root.system.get("queue:Locked:1")!.getSnapshot().context as { locks?: Record<string, unknown> }).locks?.["cg-locks"];
  assert.is(lockOf1(), undefined, "freed by the membership change itself, before anyone asks");
  assert.equal(await b.lock(queues("Locked", 1)), [1]);
  // Not a member: nothing is locked for it.
  const stranger = await lockMember(env.url, "cg-elsewhere", "member-x", subs);
  closers.push(stranger.close);
  const r = await stranger.request("lockQueues", { group: "cg-locks", clientId: "member-x", queues: queues("Locked", 3) });
  assert.equal(r.locked, []);
});

test("lockQueues: bad requests get named errors", async () => {
  const m = await lockMember(env.url, "cg-bad", "member-bad", { Locked: "*" });
  closers.push(m.close);
  const code = async (args: Record<string, unknown>) => (await rejection(m.request("lockQueues", args))).code;
  assert.is(await code({ group: "cg-bad", clientId: "member-bad" }), "MISSING_FIELD");
  assert.is(await code({ group: "cg-bad", clientId: "member-bad", queues: "Locked" }), "WRONG_TYPE");
  assert.is(await code({ group: "cg-bad", clientId: "member-bad", queues: [{ topic: "Locked", queueId: -1 }] }), "WRONG_TYPE");
  assert.is(await code({ group: "cg-bad", clientId: "member-bad", queues: [{ topic: "Locked", queueId: 9 }] }), "QUEUE_NOT_FOUND");
  assert.is(await code({ group: "cg-bad", clientId: "member-bad", queues: [{ topic: "NoSuchTopic", queueId: 0 }] }), "TOPIC_NOT_FOUND");
  assert.is(await code({ group: "cg-bad", clientId: "someone-else", queues: [] }), "BAD_REQUEST", "no locking for another client");
  assert.is((await rejection(m.request("unlockQueues", { group: "cg-bad", clientId: "member-bad", queues: [7] }))).code, "WRONG_TYPE");
});

test("an unrenewed lock expires after --order-lock-expiry and goes to the member that asks next", async () => {
  const short = await startBroker({ orderLockExpiryMs: 1500 });
  try {
    const adm = new Admin({ endpoints: short.url });
    await adm.start();
    await adm.createTopic("Expiring", 1);
    await adm.shutdown();
    const a = await lockMember(short.url, "cg-exp", "member-a", { Expiring: "*" });
    const b = await lockMember(short.url, "cg-exp", "member-b", { Expiring: "*" });
    const lockedAt = Date.now();
    assert.equal(await a.lock(queues("Expiring", 0)), [0]);
    assert.equal(await b.lock(queues("Expiring", 0)), [], "a is a live member and its lock is fresh");
    await until("b gets the expired lock", async () => (await b.lock(queues("Expiring", 0))).length === 1, 10_000, 50);
    const waited = Date.now() - lockedAt;
    assert.ok(waited >= 1400, `granted after ${waited} ms, not before the 1500 ms expiry`);
    assert.equal(await a.lock(queues("Expiring", 0)), [], "now b's: a cannot renew what it lost");
    await Promise.all([a.close(), b.close()]);
  } finally {
    await short.stop();
  }
});

test("an orderly consumer consumes a queue only once the member holding its lock releases it or leaves", async () => {
  await admin.createTopic("Blocked", 4);
  const group = "cg-blocked";
  const holder = await lockMember(env.url, group, "holder", { Blocked: "*" });
  assert.equal(await holder.lock(queues("Blocked", 0, 1, 2, 3)), [0, 1, 2, 3]);
  const seen: MessageView[] = [];
  const c = new PushConsumer({
    endpoints: env.url,
    group,
    subscriptions: { Blocked: "*" },
    consumeFrom: "first",
    orderly: true,
    // Every queue to the consumer: the holder is a member that takes none, but holds the locks.
    allocate: (ctx) => (ctx.clientId === "holder" ? [] : [...ctx.queues]),
    handler: (m) => (seen.push(m), "SUCCESS"),
  });
  closers.push(() => c.shutdown(2000));
  for (let i = 0; i < 40; i++) await producer.send({ topic: "Blocked", body: `b${i}`, queueId: i % 4 });
  await c.start();
  const runs = c.stats().rebalances;
  await until("three more rebalances, each refused the locks", () => c.stats().rebalances >= runs + 3, 15_000);
  assert.is(seen.length, 0, "nothing consumed while another live member holds the locks");
  assert.equal(c.assignedQueues().filter((q) => q.topic === "Blocked"), []);
  assert.equal(await holder.unlock(queues("Blocked", 2)), [2]);
  await until("queue 2 consumed", () => seen.length >= 10);
  assert.equal([...new Set(seen.map((m) => m.queueId))], [2], "only the released queue");
  assert.equal(seen.map((m) => m.body), Array.from({ length: 10 }, (_, i) => `b${2 + 4 * i}`), "in queue order");
  await holder.close(); // leaves the group: the rest is free
  await until("everything consumed", () => seen.length >= 40);
  for (let q = 0; q < 4; q++) {
    assert.equal(seen.filter((m) => m.queueId === q).map((m) => m.body), Array.from({ length: 10 }, (_, i) => `b${q + 4 * i}`));
  }
  assert.is(seen.length, 40);
});

test("an orderly member renews its locks: past the broker's expiry another member still cannot take its queues", async () => {
  const short = await startBroker({ orderLockExpiryMs: 800 });
  const adm = new Admin({ endpoints: short.url });
  const prod = new Producer({ endpoints: short.url });
  await Promise.all([adm.start(), prod.start()]);
  await adm.createTopic("Renewed", 2);
  const group = "cg-renewed";
  const seen: string[] = [];
  const c = new PushConsumer({
    endpoints: short.url,
    group,
    subscriptions: { Renewed: "*" },
    consumeFrom: "first",
    orderly: true,
    lockIntervalMs: 200,
    lockMaxLiveTimeMs: 400,
    allocate: (ctx) => (ctx.clientId === "thief" ? [] : [...ctx.queues]),
    handler: (m) => (seen.push(m.body as string), "SUCCESS"),
  });
  try {
    await c.start();
    await until("both queues taken", () => c.assignedQueues().filter((q) => q.topic === "Renewed").length === 2);
    const thief = await lockMember(short.url, group, "thief", { Renewed: "*" });
    const started = Date.now();
    // Five expiries long: without renewals the locks would have gone after 800 ms.
    while (Date.now() - started < 4000) {
      assert.equal(await thief.lock(queues("Renewed", 0, 1)), [], `still the consumer's after ${Date.now() - started} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await prod.send({ topic: "Renewed", body: "still mine", queueId: 1 });
    await until("consumed", () => seen.includes("still mine"));
    await c.shutdown();
    assert.equal(await thief.lock(queues("Renewed", 0, 1)), [0, 1], "released at shutdown");
    await thief.close();
  } finally {
    await c.shutdown();
    await Promise.allSettled([adm.shutdown(), prod.shutdown()]);
    await short.stop();
  }
});

test("orderly failure: the queue pauses, the same message is retried in place, then goes to the DLQ; nothing overtakes it", async () => {
  await admin.createTopic("Stuck", 1);
  const group = "cg-stuck";
  const log: { body: string; reconsumeTimes: number; at: number }[] = [];
  let flaky = 0;
  const c = new PushConsumer({
    endpoints: env.url,
    group,
    subscriptions: { Stuck: "*" },
    consumeFrom: "first",
    orderly: true,
    maxReconsumeTimes: 2,
    suspendCurrentQueueTimeMillis: 200,
    handler: (m) => {
      const body = m.body as string;
      log.push({ body, reconsumeTimes: m.reconsumeTimes, at: Date.now() });
      if (body === "poison") return "RECONSUME_LATER";
      if (body === "flaky" && ++flaky <= 2) throw new Error("not yet");
      return "SUCCESS";
    },
  });
  closers.push(() => c.shutdown(2000));
  for (const body of ["m0", "flaky", "m2", "poison", "m4", "m5"]) await producer.send({ topic: "Stuck", body });
  await c.start();
  await until("m5 consumed", () => log.some((e) => e.body === "m5"), 15_000);
  assert.equal(log.map((e) => `${e.body}#${e.reconsumeTimes}`), [
    "m0#0",
    "flaky#0", "flaky#1", "flaky#2", // fails twice, succeeds the third time
    "m2#0",
    "poison#0", "poison#1", "poison#2", // maxReconsumeTimes 2: three attempts, then the DLQ
    "m4#0", "m5#0",
  ]);
  for (const body of ["flaky", "poison"]) {
    const tries = log.filter((e) => e.body === body);
    for (let i = 1; i < tries.length; i++) {
      const pause = tries[i].at - tries[i - 1].at;
      assert.ok(pause >= 180, `${body}: retried after ${pause} ms, not before the 200 ms suspension`);
    }
  }
  const dlq = `%DLQ%${group}`;
  await until("the DLQ holds the poison message", async () => (await admin.topicList()).some((t) => t.topic === dlq));
  const dead = await readQueue(dlq, 0);
  assert.equal(dead.map((m) => m.body), ["poison"]);
  assert.is(dead[0].reconsumeTimes, 3, "the DLQ copy counts the in-place attempts");
  assert.is(dead[0].props?.ORIGIN_TOPIC, "Stuck");
  assert.is(c.stats().sentBack, 1);
  await until("offset committed past m5", async () => (await admin.consumerProgress(group)).queues.find((q) => q.topic === "Stuck")?.consumerOffset === 6);
});

test("a member that shuts down hands its queues over without a replay: it commits, then unlocks", async () => {
  await admin.createTopic("HandOver", 4);
  const group = "cg-handover";
  const seen: { body: string; member: string }[] = [];
  const make = () => {
    const c: PushConsumer = new PushConsumer({
      endpoints: env.url,
      group,
      subscriptions: { HandOver: "*" },
      consumeFrom: "first",
      orderly: true,
      persistOffsetIntervalMs: 60_000, // only the hand-over's own commit counts
      handler: async (m) => {
        seen.push({ body: m.body as string, member: c.clientId });
        await new Promise((r) => setTimeout(r, 5));
        return "SUCCESS";
      },
    });
    closers.push(() => c.shutdown(2000));
    return c;
  };
  const [a, b] = [make(), make()];
  await a.start();
  await b.start();
  const sending = (async () => {
    for (let i = 0; i < 100; i++) await Promise.all([0, 1, 2, 3].map((q) => producer.send({ topic: "HandOver", body: `${q}:${i}`, queueId: q })));
  })();
  await until("both consume", () => new Set(seen.map((s) => s.member)).size === 2, 15_000);
  await until("a third consumed", () => seen.length >= 130, 15_000);
  await a.shutdown();
  await sending;
  await until("all 400 consumed", () => seen.length >= 400, 30_000);
  assert.is(seen.length, 400, "exactly once each: no replay after a graceful hand-over");
  for (let q = 0; q < 4; q++) {
    assert.equal(seen.filter((s) => s.body.startsWith(`${q}:`)).map((s) => s.body), Array.from({ length: 100 }, (_, i) => `${q}:${i}`));
  }
  assert.ok(seen.slice(-50).every((s) => s.member === b.clientId), "b finishes alone");
});

test("orderly options are checked", () => {
  const base = { endpoints: env.url, group: "cg-opts", subscriptions: { T: "*" }, handler: () => "SUCCESS" as const };
  let e = (() => { try { new PushConsumer({ ...base, orderly: true, model: "broadcasting" }); } catch (x) { return x as BrokerError; } })();
  assert.is(e?.code, "BAD_REQUEST");
  e = (() => { try { new PushConsumer({ ...base, orderly: "yes" as unknown as boolean }); } catch (x) { return x as BrokerError; } })();
  assert.is(e?.code, "WRONG_TYPE");
  e = (() => { try { new PushConsumer({ ...base, orderly: true, suspendCurrentQueueTimeMillis: -1 }); } catch (x) { return x as BrokerError; } })();
  assert.is(e?.code, "BAD_REQUEST");
});

test.after(async () => {
  await Promise.allSettled(closers.map((f) => f()));
  await Promise.allSettled([admin.shutdown(), producer.shutdown(), reader.shutdown()]);
  await env.stop();
});

test.run();
