// End to end over real sockets: the SDK's Producer and PullConsumer against a real broker.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { startBroker } from "./helpers/broker.ts";

const env = await startBroker({ segmentSize: 8 * 1024 * 1024 });
const producer = new Producer({ endpoints: env.url, group: "pg" });
const consumer = new PullConsumer({ endpoints: env.url, group: "cg" });
const admin = new Admin({ endpoints: env.url });
await Promise.all([producer.start(), consumer.start(), admin.start()]);

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

test("10,000 mixed messages come back byte-identical with contiguous offsets per queue", async () => {
  await admin.createTopic("Mixed", 4);
  const rand = rng(42);
  const sent = new Map<string, { body: Uint8Array; tags?: string; keys: string[]; props: Record<string, string>; queueId: number; queueOffset: number }>();
  const N = 10_000;
  for (let start = 0; start < N; start += 1000) {
    const batch = [];
    for (let i = start; i < Math.min(N, start + 1000); i++) {
      // Log-uniform sizes from 10 B to 64 KiB: most small, some large, as real traffic.
      const size = Math.round(10 * Math.pow(65536 / 10, rand()));
      const body = new Uint8Array(size);
      for (let b = 0; b < size; b += 97) body[b] = (i + b) & 0xff;
      const msg = { topic: "Mixed", body, tags: i % 3 === 0 ? undefined : `T${i % 5}`, keys: [`k${i}`, `order-${i % 100}`], props: { seq: String(i) } };
      batch.push(producer.send(msg).then((r) => sent.set(r.msgId, { ...msg, keys: msg.keys, queueId: r.queue.queueId, queueOffset: r.queueOffset })));
    }
    await Promise.all(batch);
  }
  assert.is(sent.size, N);

  let received = 0;
  for (let q = 0; q < 4; q++) {
    let offset = 0;
    let expectedOffset = 0;
    for (;;) {
      const r = await consumer.pull({ topic: "Mixed", queueId: q, offset, maxCount: 64 });
      if (r.status === "NO_NEW_MSG") break;
      assert.is(r.status, "FOUND");
      for (const m of r.msgs) {
        assert.is(m.queueOffset, expectedOffset++, "offsets are contiguous");
        const s = sent.get(m.id);
        assert.ok(s, `unknown message ${m.id}`);
        assert.is(s!.queueId, q);
        assert.is(s!.queueOffset, m.queueOffset);
        assert.equal(new Uint8Array(m.body as Uint8Array), s!.body);
        assert.is(m.tags, s!.tags);
        assert.equal(m.keys, s!.keys);
        assert.equal(m.props, s!.props);
        received++;
      }
      offset = r.nextOffset;
    }
  }
  assert.is(received, N);
});

test("a long-poll pull on an empty queue returns with the message soon after a send", async () => {
  await admin.createTopic("Poll", 1);
  const pending = consumer.pull({ topic: "Poll", queueId: 0, offset: 0, pollMs: 20_000 });
  // The pull is held by the queue actor, not answered: the broker says so.
  const held = () => (env.broker.root.system.get("queue:Poll:0")!.getSnapshot().context.holds as unknown[]).length === 1;
  const deadline = Date.now() + 5000;
  while (!held() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(held(), "the pull is held");
  const started = Date.now();
  await producer.send({ topic: "Poll", body: "wake up" });
  const r = await pending;
  assert.is(r.status, "FOUND");
  assert.is(r.msgs[0].body, "wake up");
  assert.ok(Date.now() - started < 5000, "answered on the append, not at the poll deadline");
});

test("offsets are committed and queried per group and queue", async () => {
  assert.is(await consumer.queryOffset({ topic: "Mixed", queueId: 1 }), -1);
  await consumer.commitOffset({ topic: "Mixed", queueId: 1, offset: 17 });
  assert.is(await consumer.queryOffset({ topic: "Mixed", queueId: 1 }), 17);
});

test("messages are found by key and by id through the IndexFile", async () => {
  const r = await producer.send({ topic: "Mixed", body: "findme", keys: ["unique-key-1"] });
  const byKey = await admin.queryMessage({ topic: "Mixed", key: "unique-key-1" });
  assert.is(byKey.length, 1);
  assert.is(byKey[0].id, r.msgId);
  const byId = await admin.queryMessage({ msgId: r.msgId });
  assert.is(byId[0].body, "findme");
});

test.after(async () => {
  await Promise.all([producer.shutdown(), consumer.shutdown(), admin.shutdown()]);
  await env.stop();
});
test.run();
