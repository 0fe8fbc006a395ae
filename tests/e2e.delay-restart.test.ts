// Delay levels across SIGKILL: a broker child process holding 1,000 scheduled messages is killed,
// and restarted after they fell due; every one is delivered, none before its due time, and the
// duplicates (at-least-once allows some) are counted. Once restored from a snapshot, once with
// no snapshot at all and half the messages already delivered before the kill.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, rmSync } from "node:fs";
import type { Producer, PullConsumer } from "../client/mod.ts";
import { MessageProp, SCHEDULE_TOPIC } from "../protocol/mod.ts";
import { killSpawned, spawnBroker, startBroker, tempDir, until } from "./helpers/broker.ts";
import { clients, delivered } from "./helpers/clients.ts";

const QUEUES = 4;
const dirs: { remove(): void }[] = [];

/** Everything in the topic, and the due time of each message from its schedule record. */
async function readAll(consumer: PullConsumer, topic: string, levels: number[], queues = QUEUES) {
  const msgs = [];
  for (let q = 0; q < queues; q++) {
    let offset = 0;
    for (;;) {
      const r = await consumer.pull({ topic, queueId: q, offset, maxCount: 1000 });
      if (r.msgs.length === 0) break;
      msgs.push(...r.msgs);
      offset = r.nextOffset;
    }
  }
  const due = new Map<string, number>();
  for (const level of levels) {
    let offset = 0;
    for (;;) {
      const r = await consumer.pull({ topic: SCHEDULE_TOPIC, queueId: level - 1, offset, maxCount: 1000 });
      if (r.msgs.length === 0) break;
      for (const m of r.msgs) due.set(m.id, Number(m.props![MessageProp.DELIVER_AT]));
      offset = r.nextOffset;
    }
  }
  return { msgs, due };
}

async function send(producer: Producer, topic: string, level: number, n: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 250) {
    const batch = Array.from({ length: Math.min(250, n - i) }, (_, k) => ({ topic, body: `m-${from + i + k}`, delayLevel: level }));
    for (const r of await producer.sendBatch(batch)) ids.push(r.msgId);
  }
  return ids;
}

function check(label: string, ids: string[], msgs: { id: string; storeTimestamp: number }[], due: Map<string, number>) {
  const count = new Map<string, number>();
  for (const m of msgs) {
    count.set(m.id, (count.get(m.id) ?? 0) + 1);
    const at = due.get(m.id);
    assert.ok(at !== undefined && at > 0, `${m.id} has a schedule record`);
    assert.ok(m.storeTimestamp >= at, `${m.id} delivered ${at - m.storeTimestamp} ms before due`);
  }
  for (const id of ids) assert.ok((count.get(id) ?? 0) >= 1, `${id} was delivered`);
  assert.is(count.size, ids.length, "nothing but what was sent");
  const duplicates = msgs.length - count.size;
  console.log(`  ${label}: ${ids.length} scheduled, ${count.size} delivered, ${duplicates} duplicates`);
  return duplicates;
}

test("SIGKILL before anything is due, restart from a snapshot after all are due: all 1,000 delivered, none early", async () => {
  const dir = tempDir();
  dirs.push(dir);
  // 2.5 s leaves room for the sends and the snapshot before anything is due, even on a busy machine.
  const args = ["--port", "0", "--data-dir", dir.path, "--delay-levels", "2500ms 3s", "--snapshot-interval", "100"];
  const first = await spawnBroker(args);
  const c1 = await clients(first.url);
  await c1.admin.createTopic("Later", QUEUES);
  const ids = await send(c1.producer, "Later", 1, 1000);
  const health = async () => (await (await fetch(first.url.replace("ws://", "http://").replace("/ws", "/health"))).json()).commitLogOffset as number;
  const end = await health();
  await until("a snapshot holding the waiting level", () => readdirSync(`${dir.path}/snapshots`).some((n) => n.endsWith(".cbor") && Number(n.slice(0, 20)) >= end), 10_000);
  assert.is(await delivered(c1.admin, "Later"), 0, "none delivered before the kill");
  const { due: dueBefore } = await readAll(c1.consumer, "Later", [1]);
  first.child.kill("SIGKILL");
  assert.is(await first.exited, "SIGKILL");
  await c1.close();
  const lastDue = Math.max(...dueBefore.values());
  await until("every message is due", () => Date.now() > lastDue + 100, 10_000);

  const second = await spawnBroker(args);
  assert.match(second.output(), /from snapshot at \d+/);
  const c2 = await clients(second.url);
  await until("1,000 delivered after the restart", async () => (await delivered(c2.admin, "Later")) >= 1000, 10_000);
  const { msgs, due } = await readAll(c2.consumer, "Later", [1]);
  const duplicates = check("kill before due, snapshot restore", ids, msgs, due);
  assert.is(duplicates, 0, "progress records leave no duplicates after SIGKILL");
  await c2.close();
  second.child.kill("SIGTERM");
  await second.exited;
});

test("no snapshot, SIGKILL after one level delivered and before the other: all 1,000 delivered once, none early", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const args = ["--port", "0", "--data-dir", dir.path, "--delay-levels", "1500ms 3s"]; // snapshots every 30 s: none happens
  const first = await spawnBroker(args);
  const c1 = await clients(first.url);
  await c1.admin.createTopic("Later", QUEUES);
  const early = await send(c1.producer, "Later", 1, 500);
  const late = await send(c1.producer, "Later", 2, 500, 500);
  await until("level 1's 500 delivered", async () => (await delivered(c1.admin, "Later")) >= 500, 10_000);
  assert.is(await delivered(c1.admin, "Later"), 500, "level 2 still waits");
  const { due: dueBefore } = await readAll(c1.consumer, "Later", [1, 2]);
  first.child.kill("SIGKILL");
  assert.is(await first.exited, "SIGKILL");
  await c1.close();
  assert.not.ok(readdirSync(`${dir.path}/snapshots`).some((n) => n.endsWith(".cbor")), "no snapshot was written");
  const lastDue = Math.max(...late.map((id) => dueBefore.get(id)!));
  await until("level 2 is due", () => Date.now() > lastDue + 100, 10_000);

  const second = await spawnBroker(args);
  const c2 = await clients(second.url);
  await until("1,000 delivered after the restart", async () => (await delivered(c2.admin, "Later")) >= 1000, 10_000);
  const { msgs, due } = await readAll(c2.consumer, "Later", [1, 2]);
  const duplicates = check("kill between levels, no snapshot", [...early, ...late], msgs, due);
  assert.is(duplicates, 0, "level 1's progress record keeps it from delivering again");
  await c2.close();
  second.child.kill("SIGTERM");
  await second.exited;
});

test("recovery rebuilds schedule queue entries with the due time, not the tag hash", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const config = { dataDir: dir.path, delayLevels: [1500] };
  const first = await startBroker(config);
  const c1 = await clients(first.url);
  await c1.admin.createTopic("Rebuilt", 1);
  const sent = await c1.producer.send({ topic: "Rebuilt", body: "x", tags: "T", queueId: 0, delayLevel: 1 });
  await c1.close();
  await first.stop();
  // No checkpoint and no schedule queue files: recovery re-dispatches every record, through tagsCodeOf.
  rmSync(`${dir.path}/checkpoint`);
  rmSync(`${dir.path}/consumequeue/${SCHEDULE_TOPIC}`, { recursive: true });

  const second = await startBroker(config);
  const c2 = await clients(second.url);
  try {
    const early = await c2.consumer.pull({ topic: "Rebuilt", queueId: 0, offset: 0 });
    assert.is(early.status, "NO_NEW_MSG", "a rebuilt entry whose tags code were the tag's hash would look long overdue");
    const r = await c2.consumer.pull({ topic: "Rebuilt", queueId: 0, offset: 0, pollMs: 5000 });
    assert.equal(r.msgs.map((m) => m.id), [sent.msgId]);
    const { due } = await readAll(c2.consumer, "Rebuilt", [1], 1);
    assert.ok(r.msgs[0].storeTimestamp >= due.get(sent.msgId)!, "delivered no earlier than due");
  } finally {
    await c2.close();
    await second.stop();
  }
});

test.after(() => {
  killSpawned();
  dirs.forEach((d) => d.remove());
});
test.run();
