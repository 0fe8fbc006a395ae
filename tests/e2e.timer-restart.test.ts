// The timing wheel across SIGKILL: a broker child process holding 1,000 timed messages is
// killed, some delivered and some not, and restarted after more fell due; every one is
// delivered, none before its time, and (delivered TimerLog entries are marked) none twice but
// the re-put a SIGKILL may cut off from its mark.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { MessageView, Producer, PullConsumer } from "../client/mod.ts";
import { rmSync } from "node:fs";
import { killSpawned, spawnBroker, startBroker, tempDir, until } from "./helpers/broker.ts";
import { clients, delivered } from "./helpers/clients.ts";

const QUEUES = 4;
const dirs: { remove(): void }[] = [];

async function readAll(consumer: PullConsumer, topic: string): Promise<MessageView[]> {
  const msgs: MessageView[] = [];
  for (let q = 0; q < QUEUES; q++) {
    let offset = 0;
    for (;;) {
      const r = await consumer.pull({ topic, queueId: q, offset, maxCount: 1000 });
      if (r.msgs.length === 0) break;
      msgs.push(...r.msgs);
      offset = r.nextOffset;
    }
  }
  return msgs;
}

/** 1,000 messages due from `from` over `spreadMs`, each carrying its time in a property. */
async function schedule(producer: Producer, from: number, spreadMs: number): Promise<Map<string, number>> {
  const due = new Map<string, number>();
  for (let i = 0; i < 1000; i += 250) {
    const batch = Array.from({ length: 250 }, (_, k) => {
      const at = from + Math.floor(((i + k) / 1000) * spreadMs);
      return { topic: "Later", body: `m-${i + k}`, deliverAt: at, props: { at: String(at) } };
    });
    (await producer.sendBatch(batch)).forEach((r, k) => due.set(r.msgId, batch[k].deliverAt));
  }
  return due;
}

function check(label: string, due: Map<string, number>, msgs: MessageView[]): number {
  const count = new Map<string, number>();
  for (const m of msgs) {
    count.set(m.id, (count.get(m.id) ?? 0) + 1);
    const at = due.get(m.id);
    assert.ok(at !== undefined, `${m.id} was sent`);
    assert.ok(m.storeTimestamp >= at!, `${m.id} delivered ${at! - m.storeTimestamp} ms before due`);
  }
  for (const id of due.keys()) assert.ok(count.has(id), `${id} was delivered`);
  const duplicates = msgs.length - count.size;
  console.log(`  ${label}: ${due.size} scheduled, ${count.size} delivered, ${duplicates} duplicates`);
  return duplicates;
}

test("SIGKILL with some delivered, restart after more are due: all 1,000 delivered once, none early", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const args = ["--port", "0", "--data-dir", dir.path, "--snapshot-interval", "200"];
  const first = await spawnBroker(args);
  const c1 = await clients(first.url);
  await c1.admin.createTopic("Later", QUEUES);
  const due = await schedule(c1.producer, Date.now() + 1000, 4000);
  await until("some delivered", async () => (await delivered(c1.admin, "Later")) >= 100, 10_000);
  first.child.kill("SIGKILL");
  assert.is(await first.exited, "SIGKILL");
  await c1.close();
  const sorted = [...due.values()].sort((a, b) => a - b);
  await until("more fell due while down", () => Date.now() > sorted[600], 10_000);

  const second = await spawnBroker(args);
  const c2 = await clients(second.url);
  try {
    await until("1,000 delivered after the restart", async () => (await delivered(c2.admin, "Later")) >= 1000, 15_000);
    const duplicates = check("kill midway", due, await readAll(c2.consumer, "Later"));
    // A re-put and the mark of its TimerLog entry are two writes: a SIGKILL that falls between
    // them repeats that re-put (a message or two at this rate). Without the marks, every one of
    // the 100+ delivered before the kill would come again.
    assert.ok(duplicates <= 5, `${duplicates} duplicates: delivered entries are marked in the TimerLog`);
  } finally {
    await c2.close();
    second.child.kill("SIGTERM");
    await second.exited;
  }
});

test("SIGKILL before anything is due, restart after all are due: the missed seconds are delivered at once", async () => {
  const dir = tempDir();
  dirs.push(dir);
  const args = ["--port", "0", "--data-dir", dir.path];
  const first = await spawnBroker(args);
  const c1 = await clients(first.url);
  await c1.admin.createTopic("Later", QUEUES);
  const due = await schedule(c1.producer, Date.now() + 1500, 1000);
  assert.is(await delivered(c1.admin, "Later"), 0, "none delivered before the kill");
  first.child.kill("SIGKILL");
  assert.is(await first.exited, "SIGKILL");
  await c1.close();
  const last = Math.max(...due.values());
  await until("all are due", () => Date.now() > last + 100, 10_000);

  const second = await spawnBroker(args);
  const c2 = await clients(second.url);
  const restarted = Date.now();
  await until("1,000 delivered after the restart", async () => (await delivered(c2.admin, "Later")) >= 1000, 10_000);
  console.log(`  caught up in ${Date.now() - restarted} ms after the restart`);
  assert.is(check("kill before due", due, await readAll(c2.consumer, "Later")), 0);
  await c2.close();
  second.child.kill("SIGTERM");
  await second.exited;
});

test("a wheel remade for a new --timer-max-delay, or lost, is relinked from the timer topic: all delivered once", async () => {
  for (const how of ["resized", "lost"] as const) {
    const dir = tempDir();
    dirs.push(dir);
    const first = await startBroker({ dataDir: dir.path, timerMaxDelayMs: 60_000 });
    const c1 = await clients(first.url);
    await c1.admin.createTopic("Later", QUEUES);
    await c1.producer.send({ topic: "Later", body: "first", delayMs: 0 });
    await until("the immediate one delivered", async () => (await delivered(c1.admin, "Later")) === 1, 5000);
    const due = await schedule(c1.producer, Date.now() + 1500, 1000);
    await c1.close();
    await first.stop();
    if (how === "lost") rmSync(`${dir.path}/timer`, { recursive: true });

    const second = await startBroker({ dataDir: dir.path, timerMaxDelayMs: how === "resized" ? 120_000 : 60_000 });
    const c2 = await clients(second.url);
    try {
      await until("1,000 delivered", async () => (await delivered(c2.admin, "Later")) >= 1001, 10_000);
      // "first" was delivered in a second the cursor may not have passed yet: a remade wheel may
      // repeat it (at least once); the 1,000 that were still waiting come exactly once.
      const msgs = (await readAll(c2.consumer, "Later")).filter((m) => m.body !== "first");
      assert.is(check(`wheel ${how}`, due, msgs), 0);
    } finally {
      await c2.close();
      await second.stop();
    }
  }
});

test.after(() => {
  killSpawned();
  dirs.forEach((d) => d.remove());
});
test.run();
