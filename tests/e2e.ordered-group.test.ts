// The ordered-messages acceptance test: 200 keys x 100 messages each, sent with shardingKey,
// consumed by an orderly group of 3 members while a 4th joins and one is killed. For every key
// the handler sees its messages in send order; the only duplicates allowed are a replay of a
// contiguous suffix when a queue passes from the killed member to another (what it consumed
// after its last commit). Graceful hand-overs (the join's rebalance) replay nothing, and no two
// handlers ever run on one queue at once.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, type MessageView, Producer, PushConsumer } from "../client/mod.ts";
import { startBroker, until } from "./helpers/broker.ts";

const KEYS = 200;
const PER_KEY = 100;
const TOPIC = "OrderedFlow";
const GROUP = "cg-ordered";

const env = await startBroker();
const admin = new Admin({ endpoints: env.url });
const producer = new Producer({ endpoints: env.url, group: "pg-ordered" });
await Promise.all([admin.start(), producer.start()]);
const members: PushConsumer[] = [];

interface Seen {
  seq: number;
  member: string;
}

test("200 keys x 100 messages through an orderly group that gains a member and loses one: per-key order, replays only at the killed member's hand-over", async () => {
  await admin.createTopic(TOPIC, 8);
  const byKey = new Map<string, Seen[]>();
  let total = 0;
  const busy = new Map<number, string>(); // queueId -> member running a handler on it now
  const overlaps: string[] = [];
  const killed = new Set<string>();

  const member = () => {
    const c: PushConsumer = new PushConsumer({
      endpoints: env.url,
      group: GROUP,
      subscriptions: { [TOPIC]: "*" },
      consumeFrom: "first",
      orderly: true,
      persistOffsetIntervalMs: 1000,
      handler: async (m: MessageView) => {
        const me = c.clientId;
        const other = busy.get(m.queueId);
        if (other !== undefined && !killed.has(other)) overlaps.push(`queue ${m.queueId}: ${me} while ${other}`);
        busy.set(m.queueId, me);
        const [key, seq] = (m.body as string).split(":");
        const list = byKey.get(key) ?? [];
        list.push({ seq: Number(seq), member: me });
        byKey.set(key, list);
        total++;
        // A little work per message, so the join and the kill happen mid-stream.
        await new Promise((r) => setTimeout(r, 2));
        if (busy.get(m.queueId) === me) busy.delete(m.queueId);
        return "SUCCESS";
      },
    });
    members.push(c);
    return c;
  };

  const [a, b, c] = [member(), member(), member()];
  await Promise.all([a.start(), b.start(), c.start()]);
  // Sent while the group consumes: one round per sequence number keeps each key's send order.
  const sending = (async () => {
    for (let seq = 0; seq < PER_KEY; seq++) {
      await Promise.all(Array.from({ length: KEYS }, (_, k) => producer.send({ topic: TOPIC, body: `k${k}:${seq}`, shardingKey: `k${k}` })));
    }
  })();

  await until("a quarter consumed", () => total >= (KEYS * PER_KEY) / 4, 60_000);
  const d = member();
  await d.start();
  await until("the new member consumes", () => [...byKey.values()].some((l) => l.some((s) => s.member === d.clientId)), 30_000);
  await until("half consumed", () => total >= (KEYS * PER_KEY) / 2, 60_000);
  // b leaves the hard way, as a crashed process: no last commit, its connection just closes.
  const bConsumed = [...byKey.values()].reduce((n, l) => n + l.filter((s) => s.member === b.clientId).length, 0);
  assert.ok(bConsumed > 0, "b consumed before it left");
  killed.add(b.clientId);
  await b.kill();
  await sending;
  const complete = () => [...byKey.values()].every((l) => l.length > 0 && Math.max(...l.map((s) => s.seq)) === PER_KEY - 1);
  await until("every key consumed to its last message", () => byKey.size === KEYS && complete(), 120_000, 50);

  let replays = 0;
  let replayed = 0;
  for (const [key, list] of byKey) {
    assert.is(list[0].seq, 0, `${key} starts at its first message`);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      const cur = list[i];
      if (cur.seq === prev.seq + 1) continue;
      // Anything else must be a step back: the start of a replay of what was already seen...
      assert.ok(cur.seq <= prev.seq, `${key}: ${cur.seq} after ${prev.seq} skips messages`);
      // ...at a hand-over from the killed member, who had not committed them.
      assert.ok(killed.has(prev.member) && cur.member !== prev.member, `${key}: replay from ${cur.seq} after ${prev.seq} by ${cur.member}, not at the killed member's hand-over (previous by ${prev.member})`);
      replays++;
      replayed += prev.seq - cur.seq + 1;
    }
    // Every step is +1 or a step back into a replay that continues by +1: so each replay is a
    // contiguous suffix of the prefix seen before it, and nothing was skipped.
    assert.equal([...new Set(list.map((s) => s.seq))].sort((x, y) => x - y), Array.from({ length: PER_KEY }, (_, i) => i), `${key}: every message`);
  }
  assert.equal(overlaps, [], "never two handlers on one queue at once (the killed member aside)");
  const byMember = new Map<string, number>();
  for (const list of byKey.values()) for (const s of list) byMember.set(s.member, (byMember.get(s.member) ?? 0) + 1);
  for (const m of [a, b, c, d]) assert.ok((byMember.get(m.clientId) ?? 0) > 0, `${m.clientId} consumed`);
  const handedOver = [...byKey.values()].filter((l) => new Set(l.map((s) => s.member)).size > 1).length;
  assert.ok(handedOver > 0, "some keys changed hands");
  console.log(`  ${total} deliveries for ${KEYS * PER_KEY} messages; ${replays} replays (${replayed} messages) after the kill; ${handedOver} keys changed hands; per member ${[...byMember.values()].join(", ")}`);
  // The group ends with its offsets at the end of every queue.
  await until("no lag", async () => (await admin.consumerProgress(GROUP)).queues.filter((q) => q.topic === TOPIC).every((q) => q.lag === 0), 20_000);
});

test.after(async () => {
  await Promise.allSettled(members.map((m) => m.shutdown(5000)));
  await Promise.allSettled([admin.shutdown(), producer.shutdown()]);
  await env.stop();
});

test.run();
