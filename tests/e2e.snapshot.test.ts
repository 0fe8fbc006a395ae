// Snapshots: after a restart from a snapshot plus replay of what came after it, queue offsets,
// topics and committed offsets equal those before.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync } from "node:fs";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { spawnBroker, tempDir, until } from "./helpers/broker.ts";

const dir = tempDir();
const args = ["--port", "0", "--data-dir", dir.path, "--snapshot-interval", "200"];

async function picture(admin: Admin, consumer: PullConsumer) {
  const topics = (await admin.topicList()).sort((a, b) => a.topic.localeCompare(b.topic));
  const status: Record<string, unknown> = {};
  for (const t of topics) status[t.topic] = await admin.topicStatus(t.topic);
  const offsets = await Promise.all([0, 1].map((q) => consumer.queryOffset({ topic: "A", queueId: q })));
  return { topics, status, offsets };
}

test("restart from a snapshot plus replay restores offsets, topics and commits", async () => {
  const first = await spawnBroker(args);
  const admin = new Admin({ endpoints: first.url });
  const producer = new Producer({ endpoints: first.url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: first.url, group: "cg" });
  await Promise.all([admin.start(), producer.start(), consumer.start()]);
  await admin.createTopic("A", 2);
  await admin.createTopic("B", 3);
  await Promise.all(Array.from({ length: 300 }, (_, i) => producer.send({ topic: i % 2 ? "A" : "B", body: `before-${i}` })));
  await consumer.commitOffset({ topic: "A", queueId: 0, offset: 20 });

  // Wait for a snapshot that covers everything so far (the broker reports its CommitLog end).
  const health = async () => (await (await fetch(first.url.replace("ws://", "http://").replace("/ws", "/health"))).json()).commitLogOffset as number;
  const end = await health();
  await until("a snapshot covering the first writes", () => readdirSync(`${dir.path}/snapshots`).some((n) => n.endsWith(".cbor") && Number(n.slice(0, 20)) >= end), 10_000);

  // What comes after the snapshot is only in the CommitLog: a new topic, messages, a commit.
  await admin.createTopic("C", 1);
  await Promise.all(Array.from({ length: 100 }, (_, i) => producer.send({ topic: i % 3 ? "A" : "C", body: `after-${i}` })));
  await consumer.commitOffset({ topic: "A", queueId: 1, offset: 33 });
  const before = await picture(admin, consumer);
  first.child.kill("SIGKILL");
  await first.exited;
  await Promise.allSettled([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);

  const second = await spawnBroker(args);
  assert.match(second.output(), /from snapshot at \d+/);
  const admin2 = new Admin({ endpoints: second.url });
  const consumer2 = new PullConsumer({ endpoints: second.url, group: "cg" });
  await Promise.all([admin2.start(), consumer2.start()]);
  const after = await picture(admin2, consumer2);
  assert.equal(after, before);
  assert.equal(before.offsets, [20, 33]);
  await Promise.all([admin2.shutdown(), consumer2.shutdown()]);
  second.child.kill("SIGTERM");
  await second.exited;
});

test.after(() => dir.remove());
test.run();
