// Consumer groups end to end against a real broker: PushConsumers share a topic's queues, each
// queue owned by exactly one member; members joining, leaving and dying move queues at once (on
// the broker's rebalance push, not the 20 s timer), and no message is lost on the way.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, type MessageView, Producer, PushConsumer, type PushConsumerOptions } from "../client/mod.ts";
import { allocateAveragely } from "../client/allocate.ts";
import { startBroker, until } from "./helpers/broker.ts";

const env = await startBroker({ segmentSize: 16 * 1024 * 1024 });
const admin = new Admin({ endpoints: env.url });
const producer = new Producer({ endpoints: env.url, group: "pg" });
await Promise.all([admin.start(), producer.start()]);

const started: PushConsumer[] = [];

function consumer(group: string, topic: string, handler: PushConsumerOptions["handler"], options: Partial<PushConsumerOptions> = {}): PushConsumer {
  const c = new PushConsumer({ endpoints: env.url, group, subscriptions: { [topic]: "*" }, consumeFrom: "first", handler, ...options });
  started.push(c);
  return c;
}

/** Owner(s) of each queue of `topic` across the given consumers. */
function owners(members: PushConsumer[], topic: string, queues: number): string[][] {
  const out: string[][] = Array.from({ length: queues }, () => []);
  for (const m of members) for (const q of m.assignedQueues()) if (q.topic === topic) out[q.queueId].push(m.clientId);
  return out;
}

/** Every queue owned by exactly one member, and each member's share the averagely allocation. */
function converged(members: PushConsumer[], topic: string, queues: number): boolean {
  if (!owners(members, topic, queues).every((o) => o.length === 1)) return false;
  const ids = members.map((m) => m.clientId).sort();
  const all = Array.from({ length: queues }, (_, q) => ({ broker: "broker-a", topic, queueId: q }));
  return members.every((m) => {
    const want = allocateAveragely({ group: "", clientId: m.clientId, members: ids, queues: all }).map((q) => q.queueId);
    const have = m.assignedQueues().filter((q) => q.topic === topic).map((q) => q.queueId);
    return JSON.stringify(want) === JSON.stringify(have);
  });
}

async function converge(what: string, members: PushConsumer[], topic: string, queues: number): Promise<number> {
  const t0 = Date.now();
  // The rebalance timer is RocketMQ's 20 s: converging well within 5 s proves the push did it.
  await until(what, () => converged(members, topic, queues), 5000);
  return Date.now() - t0;
}

test("3 members share 8 queues; a 4th joins, one shuts down, one dies; 20,000 messages all consumed", async () => {
  await admin.createTopic("Orders", 8);
  type Delivery = { by: string; queueId: number; offset: number; phase: string };
  let phase = "start";
  const deliveries = new Map<string, Delivery[]>();
  let total = 0;
  const record = (name: string) => (m: MessageView) => {
    let d = deliveries.get(m.id);
    if (!d) deliveries.set(m.id, (d = []));
    d.push({ by: name, queueId: m.queueId, offset: m.queueOffset, phase });
    total++;
    return "SUCCESS" as const;
  };
  const [c1, c2, c3, c4] = ["c1", "c2", "c3", "c4"].map((n) => consumer("cg-orders", "Orders", record(n), { clientId: `cg-orders-${n}` }));

  await Promise.all([c1.start(), c2.start(), c3.start()]);
  const joined = await converge("3 members own the 8 queues", [c1, c2, c3], "Orders", 8);
  assert.equal(owners([c1, c2, c3], "Orders", 8).map((o) => o.length), [1, 1, 1, 1, 1, 1, 1, 1]);
  // averagely: 3 + 3 + 2
  assert.equal([c1, c2, c3].map((c) => c.assignedQueues().filter((q) => q.topic === "Orders").length), [3, 3, 2]);

  // The producer sends 20,000 messages, paced, while members come and go.
  const N = 20_000;
  const ids = new Set<string>();
  let sent = 0;
  const sending = (async () => {
    while (sent < N) {
      const batch = [];
      for (let i = 0; i < 250 && sent < N; i++, sent++) batch.push(producer.send({ topic: "Orders", body: `m${sent}` }).then((r) => ids.add(r.msgId)));
      await Promise.all(batch);
      await new Promise((r) => setTimeout(r, 15)); // pacing the load, not waiting on a state
    }
  })();

  await until("5,000 sent", () => sent >= 5000, 30_000);
  phase = "join";
  await c4.start();
  const join = await converge("a 4th member takes its share", [c1, c2, c3, c4], "Orders", 8);

  await until("10,000 sent", () => sent >= 10_000, 30_000);
  phase = "shutdown";
  await c2.shutdown();
  const leave = await converge("the queues of a member that shut down move", [c1, c3, c4], "Orders", 8);

  await until("15,000 sent", () => sent >= 15_000, 30_000);
  // Dies: its connections close, nothing is committed or said; the broker sees the close.
  phase = "death";
  await c3.kill();
  const death = await converge("the queues of a member that died move", [c1, c4], "Orders", 8);

  await sending;
  assert.is(ids.size, N);
  await until("every message consumed", () => [...ids].every((id) => deliveries.has(id)), 30_000);

  // Duplicates only around hand-overs: a message is consumed again only by another member
  // (the one that took its queue), never twice by the same member.
  let duplicates = 0;
  const byPhase: Record<string, number> = {};
  for (const [id, d] of deliveries) {
    if (d.length === 1) continue;
    duplicates += d.length - 1;
    for (const x of d.slice(1)) byPhase[x.phase] = (byPhase[x.phase] ?? 0) + 1;
    const by = d.map((x) => x.by);
    assert.is(new Set(by).size, by.length, `message ${id} was consumed twice by the same member: ${JSON.stringify(d)}`);
  }
  console.log(`consumer group: ${N} messages, ${total} deliveries, ${duplicates} duplicates ${JSON.stringify(byPhase)}; converged in ${joined} ms (start), ${join} ms (join), ${leave} ms (shutdown), ${death} ms (death)`);
  for (const c of [c1, c2, c3, c4]) assert.is(c.stats().inFlight, 0);
});

test("a member that stops without shutdown loses its queues once the broker sees its connection close", async () => {
  await admin.createTopic("Kill", 4);
  const a = consumer("cg-kill", "Kill", () => "SUCCESS", { clientId: "cg-kill-a" });
  const b = consumer("cg-kill", "Kill", () => "SUCCESS", { clientId: "cg-kill-b" });
  await Promise.all([a.start(), b.start()]);
  await converge("2 members own the 4 queues", [a, b], "Kill", 4);
  assert.is(b.assignedQueues().filter((q) => q.topic === "Kill").length, 2);
  await b.kill();
  const ms = await converge("the survivor owns everything", [a], "Kill", 4);
  assert.is(a.assignedQueues().filter((q) => q.topic === "Kill").length, 4);
  // The retry topic moves as well: clustering members balance %RETRY%<group> too.
  assert.ok(a.assignedQueues().some((q) => q.topic === "%RETRY%cg-kill"));
  console.log(`kill: queues reassigned in ${ms} ms`);
});

test("heartbeats carry the subscriptions and the retry topic; consumerProgress lists the members", async () => {
  await admin.createTopic("Beat", 2);
  const c = consumer("cg-beat", "Beat", () => "SUCCESS", { clientId: "cg-beat-1", subscriptions: { Beat: "paid || refunded" } });
  await c.start();
  const p = await admin.consumerProgress("cg-beat");
  assert.equal(p.members, [{ clientId: "cg-beat-1", model: "clustering", subscriptions: { Beat: "paid || refunded", "%RETRY%cg-beat": "*" } }]);
  assert.equal(p.queues.map((q) => `${q.topic}:${q.queueId}`), ["%RETRY%cg-beat:0", "Beat:0", "Beat:1"]);
});

test.after(async () => {
  await Promise.all(started.map((c) => c.shutdown(5000)));
  await Promise.all([producer.shutdown(), admin.shutdown()]);
  await env.stop();
});
test.run();
