// Transactional messages end to end against an in-process broker with short check times:
// commit, rollback, unknown-then-checked both ways, a consumer group that sees committed
// messages only and each once (retries included), check-back answered by another producer of
// the group after the sender is gone, 15 unanswered checks moving the half message to
// TRANS_CHECK_MAX_TIME_TOPIC, and endTransaction idempotence.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, type LocalTransactionState, type MessageView, PullConsumer, PushConsumer, TransactionProducer } from "../client/mod.ts";
import { encode, TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from "../protocol/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";
import { rawSocket } from "./helpers/raw-socket.ts";
import { rejection } from "./helpers/rejection.ts";

/** A bare socket that sends one request at a time and reads its answer. */
async function rawClient(url: string) {
  const socket = await rawSocket(url);
  let id = 0;
  return {
    async request(args: Record<string, unknown>) {
      socket.send(encode({ id: ++id, ...args }));
      return await socket.next();
    },
    close: () => socket.close(),
  };
}

const TIMEOUT = 300;
const INTERVAL = 100;
// Short delay levels too, so a consumer's retry (level 3 + attempt) comes back in ~60 ms.
const env = await startBroker({ transactionTimeoutMs: TIMEOUT, transactionCheckIntervalMs: INTERVAL, delayLevels: Array.from({ length: 18 }, (_, i) => 30 + 10 * i) });
const admin = new Admin({ endpoints: env.url });
const reader = new PullConsumer({ endpoints: env.url, group: "reader" });
await Promise.all([admin.start(), reader.start()]);
const closers: (() => Promise<unknown>)[] = [];

function producer(group: string, check: (m: MessageView) => LocalTransactionState | Promise<LocalTransactionState>, onCheck?: (m: MessageView) => void) {
  const tp = new TransactionProducer({ endpoints: env.url, group, heartbeatIntervalMs: 200, check: (m) => (onCheck?.(m), check(m)) });
  closers.push(() => tp.shutdown());
  return tp;
}

/** Every message of a topic (all queues), in queue order. */
async function readAll(topic: string): Promise<MessageView[]> {
  const status = await admin.topicStatus(topic);
  const out: MessageView[] = [];
  for (const q of status.queues) {
    let offset = 0;
    for (;;) {
      const r = await reader.pull({ topic, queueId: q.queueId, offset, maxCount: 500 });
      if (r.msgs.length === 0) break;
      out.push(...r.msgs);
      offset = r.nextOffset;
    }
  }
  return out;
}

const inFlight = () => env.broker.observer.transactionsInFlight();

test("COMMIT delivers the message to its topic once; ROLLBACK never; both end the transaction", async () => {
  await admin.createTopic("TxBasic", 2);
  const checks: string[] = [];
  const tp = producer("tpg-basic", () => "UNKNOWN", (m) => checks.push(m.id));
  await tp.start();
  // A transaction may be checked only if its END came later than the timeout after its send
  // began (the broker's clock starts when it stores the half message, after that); on a loaded
  // machine that can happen, and it is then not a fault.
  const late = new Set<string>();
  const timed = async <R extends { msgId: string }>(send: () => Promise<R>): Promise<R> => {
    const began = Date.now();
    const result = await send();
    if (Date.now() - began >= TIMEOUT) late.add(result.msgId);
    return result;
  };
  const c = await timed(() => tp.sendInTransaction({ topic: "TxBasic", body: "commit me", tags: "a", keys: ["k1"], props: { user: "1" } }, () => "COMMIT"));
  assert.is(c.localTransactionState, "COMMIT");
  assert.is(c.endState, "COMMITTED");
  assert.is(c.queueOffset, -1, "a half message has no offset in its topic yet");
  const r = await timed(() => tp.sendInTransaction({ topic: "TxBasic", body: "roll me back" }, async () => "ROLLBACK"));
  assert.is(r.endState, "ROLLED_BACK");
  await until("both transactions ended", () => inFlight() === 0);
  const msgs = await readAll("TxBasic");
  assert.equal(msgs.map((m) => m.id), [c.msgId]);
  const m = msgs[0];
  assert.is(m.body, "commit me");
  assert.is(m.tags, "a");
  assert.equal(m.keys, ["k1"]);
  assert.equal(m.props, { user: "1" }, "the half message's properties are gone");
  assert.is(m.queueId, c.queue.queueId);
  // The half topic holds both, the op topic one record each.
  assert.equal((await readAll(TRANS_HALF_TOPIC)).filter((h) => h.id === c.msgId || h.id === r.msgId).length, 2);
  const ops = (await readAll(TRANS_OP_HALF_TOPIC)).map((o) => o.id);
  assert.ok(ops.includes(`${c.msgId}:COMMIT`) && ops.includes(`${r.msgId}:ROLLBACK`));
  assert.equal(checks.filter((id) => !late.has(id)), [], "nothing that ended within the timeout was checked");
});

test("a second endTransaction of a finished transaction re-puts nothing (idempotent)", async () => {
  await admin.createTopic("TxTwice", 1);
  const tp = producer("tpg-twice", () => "UNKNOWN");
  await tp.start();
  const c = await tp.sendInTransaction({ topic: "TxTwice", body: "once" }, () => "COMMIT");
  const raw = await rawClient(env.url);
  try {
    const again = await raw.request({ op: "endTransaction", group: "tpg-twice", msgId: c.msgId, resolution: "COMMIT" });
    assert.is(again.code, 0);
    assert.is(again.state, "NOT_IN_FLIGHT");
    const back = await raw.request({ op: "endTransaction", group: "tpg-twice", msgId: c.msgId, resolution: "ROLLBACK" });
    assert.is(back.state, "NOT_IN_FLIGHT");
    const bad = await raw.request({ op: "endTransaction", group: "tpg-twice", msgId: c.msgId, resolution: "MAYBE" });
    assert.is(bad.code, "BAD_REQUEST");
    const missing = await raw.request({ op: "endTransaction", group: "tpg-twice", resolution: "COMMIT" });
    assert.is(missing.code, "MISSING_FIELD");
  } finally {
    raw.close();
  }
  assert.is((await readAll("TxTwice")).length, 1);
});

test("UNKNOWN (or a throw) is checked after the timeout: the check's COMMIT delivers, its ROLLBACK does not", async () => {
  await admin.createTopic("TxChecked", 2);
  const answers = new Map<string, LocalTransactionState>();
  const checked: MessageView[] = [];
  const tp = producer("tpg-check", (m) => answers.get(m.id) ?? "UNKNOWN", (m) => checked.push(m));
  await tp.start();
  const sentAt = Date.now();
  const yes = await tp.sendInTransaction({ topic: "TxChecked", body: "later yes", props: { order: "1" } }, () => "UNKNOWN");
  const no = await tp.sendInTransaction({ topic: "TxChecked", body: "later no" }, () => {
    throw new Error("local transaction crashed");
  });
  assert.is(yes.endState, "IN_FLIGHT");
  assert.is(no.localTransactionState, "UNKNOWN");
  answers.set(yes.msgId, "COMMIT");
  answers.set(no.msgId, "ROLLBACK");
  await until("both checked and ended", () => inFlight() === 0, 10_000);
  assert.ok(Date.now() - sentAt >= TIMEOUT, "not checked before the transaction timeout");
  const first = checked.find((m) => m.id === yes.msgId)!;
  assert.is(first.topic, "TxChecked", "the check shows the real topic");
  assert.is(first.body, "later yes");
  assert.is(first.props?.order, "1");
  assert.equal((await readAll("TxChecked")).map((m) => m.id), [yes.msgId]);
});

test("a consumer group sees committed messages only, each exactly once, also through retries; never a half message", async () => {
  await admin.createTopic("TxConsumed", 4);
  const seen: MessageView[] = [];
  const failedOnce = new Set<string>();
  const consumer = new PushConsumer({
    endpoints: env.url,
    group: "cg-tx",
    subscriptions: { TxConsumed: "*" },
    consumeFrom: "first",
    persistOffsetIntervalMs: 50,
    handler: (m) => {
      seen.push(m);
      // Every 5th committed message fails once: its retry must not bring any half message along.
      if (Number(m.props?.n) % 5 === 0 && !failedOnce.has(m.id)) {
        failedOnce.add(m.id);
        return "RECONSUME_LATER";
      }
      return "SUCCESS";
    },
  });
  closers.push(() => consumer.shutdown());
  await consumer.start();
  const tp = producer("tpg-consumed", (m) => (Number(m.props?.n) % 3 === 0 ? "COMMIT" : "ROLLBACK"));
  await tp.start();
  const decide = (n: number): LocalTransactionState => (n % 4 === 0 ? "COMMIT" : n % 4 === 1 ? "ROLLBACK" : "UNKNOWN");
  const results = await Promise.all(Array.from({ length: 200 }, (_, n) => tp.sendInTransaction({ topic: "TxConsumed", body: `m${n}`, props: { n: String(n) } }, () => decide(n))));
  const committed = new Set(results.filter((r, n) => decide(n) === "COMMIT" || (decide(n) === "UNKNOWN" && n % 3 === 0)).map((r) => r.msgId));
  const all = new Set(results.map((r) => r.msgId));
  // Generous bounds: 200 transactions, a third of them checked, and retries, on a shared machine.
  await until("every transaction ended", () => inFlight() === 0, 30_000);
  const firstTimes = () => seen.filter((m) => m.reconsumeTimes === 0);
  await until("every committed message consumed", () => new Set(seen.map((m) => m.id)).size >= committed.size && seen.filter((m) => m.reconsumeTimes > 0).length >= failedOnce.size, 30_000);
  const ids = firstTimes().map((m) => m.id);
  assert.is(new Set(ids).size, ids.length, "no committed message delivered twice");
  assert.equal(new Set(ids), committed);
  for (const m of seen) {
    assert.ok(all.has(m.id));
    assert.ok(committed.has(m.id), `${m.id} (n=${m.props?.n}) was not committed but was delivered`);
    assert.ok(!m.props?.TRAN_MSG && !m.props?.REAL_TOPIC, "no half-message properties");
  }
  const retried = seen.filter((m) => m.reconsumeTimes > 0);
  assert.ok(retried.length >= failedOnce.size && failedOnce.size > 0, "the retry path was exercised");
  assert.ok(retried.every((m) => failedOnce.has(m.id)), "only the failed committed messages came back");
});

test("check-back after the sending producer shut down: another producer of the group answers", async () => {
  await admin.createTopic("TxOrphan", 1);
  const sender = producer("tpg-orphan", () => "UNKNOWN");
  await sender.start();
  const sent = await sender.sendInTransaction({ topic: "TxOrphan", body: "who commits me?" }, () => "UNKNOWN");
  await sender.shutdown(); // the sender goes away before the broker asks
  const answeredBy: string[] = [];
  const other = producer("tpg-orphan", (m) => (answeredBy.push(m.id), "COMMIT"));
  await other.start();
  await until("the other producer committed it", async () => (await readAll("TxOrphan")).length === 1, 10_000);
  assert.ok(answeredBy.includes(sent.msgId));
  assert.equal((await readAll("TxOrphan")).map((m) => m.id), [sent.msgId]);
  await until("ended", () => inFlight() === 0);
});

test("15 unanswered checks move the half message to TRANS_CHECK_MAX_TIME_TOPIC; it is never delivered", async () => {
  await admin.createTopic("TxNever", 1);
  // A bare producer connection of the group that records every check and never answers.
  const socket = await rawSocket(env.url);
  try {
    socket.send(encode({ id: 1, op: "heartbeat", clientId: "never-answers", producerGroups: ["tpg-never"] }));
    assert.is((await socket.next()).code, 0);
    const msgId = "neverAnswered000000001";
    socket.send(encode({ id: 2, op: "send", msg: encode({ topic: "TxNever", body: "nobody knows", id: msgId, born: Date.now(), group: "tpg-never", props: { TRAN_MSG: "true" } }) }));
    const sent = await socket.next();
    assert.is(sent.code, 0);
    assert.is(sent.queueOffset, -1);
    const checks: number[] = [];
    while (checks.length < 15) {
      const f = await socket.next(10_000);
      if (f.op === "checkTransaction" && f.msgId === msgId) checks.push(f.checks as number);
    }
    assert.equal(checks, Array.from({ length: 15 }, (_, i) => i + 1), "the default 15 checks, counted by the broker");
    await until("discarded", async () => (await readAll(TRANS_CHECK_MAX_TIME_TOPIC)).some((m) => m.id === msgId), 10_000);
    await until("ended", () => inFlight() === 0);
    const parked = (await readAll(TRANS_CHECK_MAX_TIME_TOPIC)).find((m) => m.id === msgId)!;
    assert.is(parked.body, "nobody knows");
    assert.is(parked.props?.REAL_TOPIC, "TxNever", "the parked copy says where it was going");
    assert.ok((await readAll(TRANS_OP_HALF_TOPIC)).some((o) => o.id === `${msgId}:DISCARD`));
    assert.equal(await readAll("TxNever"), [], "never delivered");
    socket.send(encode({ id: 3, op: "endTransaction", group: "tpg-never", msgId, resolution: "COMMIT" }));
    let reply = await socket.next();
    const later: unknown[] = [];
    while (reply.id !== 3) {
      later.push(reply);
      reply = await socket.next();
    }
    assert.equal(later, [], "no 16th check (nor anything else) came after the 15th");
    assert.is(reply.state, "NOT_IN_FLIGHT", "a late commit does not revive it");
    assert.equal(await readAll("TxNever"), []);
  } finally {
    socket.close();
  }
});

test("bad transactional sends are refused with named codes; /metrics reports transactions in flight", async () => {
  const tp = producer("tpg-metrics", () => "UNKNOWN");
  await tp.start();
  assert.is((await rejection(tp.sendInTransaction({ topic: "TxBad", body: "x", delayLevel: 1 }, () => "COMMIT"))).code, "BAD_REQUEST");
  // The broker's own check, for a client that sets TRAN_MSG itself: a delayed or group-less half is refused.
  const raw = await rawClient(env.url);
  try {
    const noGroup = await raw.request({ op: "send", msg: encode({ topic: "TxBad", body: "x", id: "nogroup1", born: Date.now(), props: { TRAN_MSG: "true" } }) });
    assert.is(noGroup.code, "MISSING_FIELD");
    const delayed = await raw.request({ op: "send", msg: encode({ topic: "TxBad", body: "x", id: "delayed1", born: Date.now(), group: "g", delayLevel: 1, props: { TRAN_MSG: "true" } }) });
    assert.is(delayed.code, "BAD_REQUEST");
  } finally {
    raw.close();
  }
  const before = inFlight();
  await tp.sendInTransaction({ topic: "TxMetrics", body: "held" }, () => "UNKNOWN");
  const metrics = await (await fetch(env.url.replace("ws://", "http://").replace("/ws", "/metrics"))).text();
  const line = metrics.split("\n").find((l) => l.startsWith("actormq_transactions_in_flight "));
  assert.ok(line, "the gauge is exposed");
  assert.ok(Number(line!.split(" ")[1]) >= before + 1);
});

test.after(async () => {
  for (const close of closers) await close().catch(() => {});
  await Promise.allSettled([admin.shutdown(), reader.shutdown()]);
  await env.stop();
});

test.run();
