// Retention: with 64 KiB segments, a reserved time of a second and the current hour as
// --delete-when, the old segments go with their ConsumeQueue files; a consumer behind them gets
// OFFSET_MOVED and resumes at the new min offset; nothing newer is touched; and the segment
// holding a pending timer's message (and everything after it) is kept; so are the segments holding
// the half message of a transaction nobody has resolved and a delayed message not yet delivered.
import { readdirSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer, TransactionProducer } from "../client/mod.ts";
import { killSpawned, spawnBroker, tempDir, until } from "./helpers/broker.ts";

test.after(() => killSpawned());

/** 64 KiB segments, expired after a second, a pass every 200 ms at this hour and the next. */
async function retentionBroker() {
  const dir = tempDir();
  const hour = new Date().getHours();
  const hours = [hour, (hour + 1) % 24].map((h) => String(h).padStart(2, "0")).join(";");
  const b = await spawnBroker(["--port", "0", "--data-dir", dir.path, "--segment-size", "64k", "--file-reserved-time", "1s", "--delete-when", hours, "--clean-interval", "200ms"]);
  return { dir, b };
}

/** Messages r<from>.. r<from+n-1> of about 1 KiB each to topic R, 50 at a time. */
async function sendKiB(producer: Producer, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => producer.send({ topic: "R", body: `r${i + k}-${"x".repeat(1000)}` })));
}

test("old segments go, a consumer behind resumes at the new min offset, a pending timer's segment stays", async () => {
  const { dir, b } = await retentionBroker();
  const admin = new Admin({ endpoints: b.url });
  const producer = new Producer({ endpoints: b.url, group: "pg" });
  const consumer = new PullConsumer({ endpoints: b.url, group: "cg" });
  await Promise.all([admin.start(), producer.start(), consumer.start()]);
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(b.url.replace("ws://", "http://").replace("/ws", "/metrics"))).text())?.[1] ?? NaN);
  try {
    await admin.createTopic("R", 1);
    const send = (from: number, n: number) => sendKiB(producer, from, n);
    await send(0, 200); // about three segments
    const timedAt = Date.now() + 3_600_000;
    const later = await producer.send({ topic: "Later", body: "in an hour", deliverAt: timedAt }); // a pending timer, in the fourth
    await send(200, 200);
    const segmentsBefore = readdirSync(`${dir.path}/commitlog`).length;

    await until("retention deleted segments", async () => (await metric("actormq_retention_deleted_segments_total")) > 0, 15_000, 100);
    // Passes go on as segments expire; once nothing more can go, the pending timer is what holds the rest.
    const settled = await until("a pass that deletes nothing", async () => {
      const r = await admin.deleteExpiredCommitLog();
      return r.deletedSegments === 0 ? r : null;
    }, 15_000, 300);
    assert.is(settled.heldBy, "a pending timer");
    assert.is((await admin.queryMessage({ msgId: later.msgId })).length, 1, "the timer's message is still stored");
    assert.ok(readdirSync(`${dir.path}/commitlog`).length < segmentsBefore);
    const min = (await admin.topicStatus("R")).queues[0].minOffset;
    assert.ok(min > 0 && min <= 200, `the queue starts later now (${min}), not past the timer's segment`);

    // A consumer behind: OFFSET_MOVED, then everything from the new min, nothing newer lost.
    const behind = await consumer.pull({ topic: "R", queueId: 0, offset: 0 });
    assert.is(behind.status, "OFFSET_MOVED");
    assert.is(behind.nextOffset, min);
    const bodies: string[] = [];
    for (let offset = behind.nextOffset; offset < 400;) {
      const r = await consumer.pull({ topic: "R", queueId: 0, offset, maxCount: 64 });
      bodies.push(...r.msgs.map((m) => String(m.body).split("-")[0]));
      offset = r.nextOffset;
    }
    assert.equal(bodies, Array.from({ length: 400 - min }, (_, i) => `r${min + i}`));
    assert.ok(await metric("actormq_store_bytes\\{kind=\"commitlog\"\\}") > 0);
  } finally {
    await Promise.allSettled([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
    b.child.kill("SIGTERM");
    await b.exited;
    dir.remove();
  }
});

test("the segment holding an unresolved transaction's half message stays, and so does the message", async () => {
  const { dir, b } = await retentionBroker();
  const admin = new Admin({ endpoints: b.url });
  const producer = new Producer({ endpoints: b.url, group: "pg" });
  // Neither the local transaction nor the broker's checks ever settle it.
  const tp = new TransactionProducer({ endpoints: b.url, group: "tpg", check: () => "UNKNOWN" });
  await Promise.all([admin.start(), producer.start(), tp.start()]);
  try {
    await admin.createTopic("R", 1);
    const send = (from: number, n: number) => sendKiB(producer, from, n);
    await send(0, 200); // about three segments
    const half = await tp.sendInTransaction({ topic: "Tx", body: "undecided" }, () => "UNKNOWN");
    await send(200, 200);
    const settled = await until("a pass that deletes nothing", async () => {
      const r = await admin.deleteExpiredCommitLog();
      return r.deletedSegments === 0 && (await admin.topicStatus("R")).queues[0].minOffset > 0 ? r : null;
    }, 20_000, 300);
    assert.is(settled.heldBy, "an unresolved transaction");
    assert.is((await admin.queryMessage({ msgId: half.msgId })).length, 1, "the half message is still stored");
    const min = (await admin.topicStatus("R")).queues[0].minOffset;
    assert.ok(min > 0 && min <= 200, `the queue starts later now (${min}), not past the half message's segment`);
  } finally {
    await Promise.allSettled([admin.shutdown(), producer.shutdown(), tp.shutdown()]);
    b.child.kill("SIGTERM");
    await b.exited;
    dir.remove();
  }
});

test("the segment holding a delayed message not yet delivered stays (each delay level answers its progress)", async () => {
  const { dir, b } = await retentionBroker();
  const admin = new Admin({ endpoints: b.url });
  const producer = new Producer({ endpoints: b.url, group: "pg" });
  await Promise.all([admin.start(), producer.start()]);
  try {
    await admin.createTopic("R", 1);
    const send = (from: number, n: number) => sendKiB(producer, from, n);
    await send(0, 200); // about three segments
    const delayed = await producer.send({ topic: "Later", body: "in two hours", delayLevel: 18 });
    await send(200, 200);
    const settled = await until("a pass that deletes nothing", async () => {
      const r = await admin.deleteExpiredCommitLog();
      return r.deletedSegments === 0 && (await admin.topicStatus("R")).queues[0].minOffset > 0 ? r : null;
    }, 20_000, 300);
    assert.is(settled.heldBy, "a delayed message");
    assert.is((await admin.queryMessage({ msgId: delayed.msgId })).length, 1, "the delayed message is still stored");
    const min = (await admin.topicStatus("R")).queues[0].minOffset;
    assert.ok(min > 0 && min <= 200, `the queue starts later now (${min}), not past the delayed message's segment`);
  } finally {
    await Promise.allSettled([admin.shutdown(), producer.shutdown()]);
    b.child.kill("SIGTERM");
    await b.exited;
    dir.remove();
  }
});

test.run();
