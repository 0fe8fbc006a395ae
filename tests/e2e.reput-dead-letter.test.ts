// A re-put that keeps failing: a delayed message whose target topic's ConsumeQueue cannot be made
// (a file stands where its directory should be). It is refused alone, so the other sends of the
// same turns succeed; after its tries it is moved aside to RMQ_SYS_DEAD_LETTER with the reason,
// and delay level 3 goes on delivering the messages behind it.
import { mkdirSync, writeFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Producer, PullConsumer } from "../client/mod.ts";
import { killSpawned, spawnBroker, tempDir, until } from "./helpers/broker.ts";

test.after(() => killSpawned());

test("a re-put whose target cannot be written is dead-lettered after its tries; level 3 keeps delivering", async () => {
  const dir = tempDir();
  mkdirSync(`${dir.path}/consumequeue`, { recursive: true });
  writeFileSync(`${dir.path}/consumequeue/Blocked`, "not a directory");
  const b = await spawnBroker(["--port", "0", "--data-dir", dir.path, "--delay-levels", "1s 1s 300ms"]);
  const producer = new Producer({ endpoints: b.url, group: "pg", retryTimesWhenSendFailed: 0 });
  const consumer = new PullConsumer({ endpoints: b.url, group: "cg" });
  await Promise.all([producer.start(), consumer.start()]);
  try {
    const before = await producer.send({ topic: "Fine", body: "before", delayLevel: 3 });
    const blocked = await producer.send({ topic: "Blocked", body: "nowhere to go", delayLevel: 3 });
    const after = await Promise.all(Array.from({ length: 5 }, (_, i) => producer.send({ topic: "Fine", body: `after-${i}`, delayLevel: 3 })));
    assert.is(blocked.status, "SEND_OK", "the delayed send itself is stored");
    // While the blocked re-put is retried, plain sends are untouched.
    for (let i = 0; i < 20; i++) assert.is((await producer.send({ topic: "Plain", body: `p${i}` })).status, "SEND_OK");

    const delivered = new Set<string>();
    await until("every Fine message delivered", async () => {
      for (let q = 0; q < 4; q++) for (const m of (await consumer.pull({ topic: "Fine", queueId: q, offset: 0, maxCount: 64 })).msgs) delivered.add(String(m.body));
      return delivered.size === 6;
    }, 15_000, 100);
    assert.equal([...delivered].sort(), ["after-0", "after-1", "after-2", "after-3", "after-4", "before"]);
    void before;
    void after;

    const dead = await until("the blocked message in RMQ_SYS_DEAD_LETTER", async () => (await consumer.pull({ topic: "RMQ_SYS_DEAD_LETTER", queueId: 0, offset: 0 }).catch(() => null))?.msgs[0], 15_000, 100);
    assert.is(dead.body, "nowhere to go");
    assert.is(dead.id, blocked.msgId);
    assert.is(dead.props?.DLQ_ORIGIN_TOPIC, "Blocked");
    assert.match(String(dead.props?.DLQ_REASON), /^STORAGE_ERROR: /);
    assert.is(dead.props?.DLQ_FROM, "delay level 3");
    assert.match(b.output(), /delay level 3: message \S+ for Blocked\/\d+ refused 3 times \(STORAGE_ERROR/);
  } finally {
    await Promise.allSettled([producer.shutdown(), consumer.shutdown()]);
    b.child.kill("SIGTERM");
    await b.exited;
    dir.remove();
  }
});

test.run();
