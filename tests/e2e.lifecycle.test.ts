// deleteTopic and deleteSubGroup on a broker process, and through a name server on a cluster.
// A deletion must hold through every way a broker comes back: a SIGKILL after it (the last
// snapshot, taken before the deletion, still holds the topic's queue actors and the group's
// offsets; the records written after it must undo them), a SIGTERM (a snapshot without them),
// and a topic created again with the same name starts afresh: no old message, no old offset.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer, TransactionProducer } from "../client/mod.ts";
import { BrokerError } from "../protocol/mod.ts";
import { type BrokerProcess, killSpawned, spawnBroker, startBroker, tempDir, until } from "./helpers/broker.ts";
import { startCluster } from "./helpers/cluster.ts";

test.after(() => killSpawned());

async function code(p: Promise<unknown>): Promise<string> {
  return p.then(() => "OK", (e) => (e instanceof BrokerError ? e.code : String(e)));
}

async function withClients<T>(url: string, fn: (c: { admin: Admin; producer: Producer; consumer: PullConsumer }) => Promise<T>): Promise<T> {
  const admin = new Admin({ endpoints: url });
  const producer = new Producer({ endpoints: url, group: "pg", retryTimesWhenSendFailed: 0 });
  const consumer = new PullConsumer({ endpoints: url, group: "cg" });
  await Promise.all([admin.start(), producer.start(), consumer.start()]);
  try {
    return await fn({ admin, producer, consumer });
  } finally {
    await Promise.allSettled([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
  }
}

test("deleteTopic and deleteSubGroup on a broker hold through a SIGKILL, a SIGTERM and the name used again", async () => {
  const dir = tempDir("actormq-lifecycle-");
  const args = ["--port", "0", "--data-dir", dir.path, "--snapshot-interval", "1h"];
  let broker: BrokerProcess = await spawnBroker(args);
  const restart = async (signal: "SIGKILL" | "SIGTERM") => {
    broker.child.kill(signal);
    await broker.exited;
    broker = await spawnBroker(args);
  };
  try {
    let oldId = "";
    await withClients(broker.url, async ({ admin, producer, consumer }) => {
      await admin.createTopic("Doomed", 2);
      for (let i = 0; i < 10; i++) {
        const r = await producer.send({ topic: "Doomed", body: `old-${i}`, keys: ["k"] });
        oldId ||= r.msgId;
      }
      await producer.send({ topic: "Kept", body: "kept" });
      await consumer.commitOffset({ topic: "Doomed", queueId: 0, offset: 3 });
      await consumer.commitOffset({ topic: "Kept", queueId: 0, offset: 1 });
      const gone = new PullConsumer({ endpoints: broker.url, group: "Gone" });
      await gone.start();
      await gone.commitOffset({ topic: "Kept", queueId: 0, offset: 1 });
      await gone.shutdown();
      await admin.updateSubscriptionGroup("Gone", { maxReconsumeTimes: 3 });
      await admin.createTopic("%RETRY%Gone", 1);
    });
    // A snapshot that holds all of it: the deletions below come after it.
    await restart("SIGTERM");

    await withClients(broker.url, async ({ admin, producer, consumer }) => {
      // A pull held on the topic is answered when the topic goes.
      const end = (await admin.topicStatus("Doomed")).queues[0].maxOffset;
      assert.is(end, 5);
      const held = consumer.pull({ topic: "Doomed", queueId: 0, offset: end, pollMs: 20_000 });
      assert.equal(await admin.deleteTopic("Doomed"), { topic: "Doomed" });
      const answered = await Promise.race([held.then(() => "answered", () => "answered"), new Promise((r) => setTimeout(() => r("still held"), 10_000))]);
      assert.is(answered, "answered", "the held pull is answered at once");
      assert.is(await code(admin.topicStatus("Doomed")), "TOPIC_NOT_FOUND");
      assert.is(await code(admin.deleteTopic("Doomed")), "TOPIC_NOT_FOUND", "deleting it twice");
      assert.is(await code(admin.deleteTopic("RMQ_SYS_CONSUMER_OFFSETS")), "BAD_REQUEST", "the broker's own topics stay");
      assert.equal(await admin.queryMessage({ msgId: oldId }), []);
      assert.is(await consumer.queryOffset({ topic: "Doomed", queueId: 0 }), -1, "the group forgot its offset");

      const g = await admin.deleteSubGroup("Gone");
      assert.equal(g, { group: "Gone", topicsDeleted: ["%RETRY%Gone"] });
      assert.is((await admin.getSubscriptionGroup("Gone")).maxReconsumeTimes, 16, "its settings went back to the defaults");
      assert.is(await code(admin.deleteSubGroup("bad group")), "BAD_REQUEST");
      assert.is(await code(admin.consumerProgress("Gone")), "BAD_REQUEST", "the group is gone");
      assert.not.ok((await admin.topicList()).some((t) => t.topic === "Doomed" || t.topic === "%RETRY%Gone"));
      assert.is(await consumer.queryOffset({ topic: "Kept", queueId: 0 }), 1, "another topic's offset is untouched");
    });

    // SIGKILL: the snapshot from before the deletions, and the records after it.
    for (const signal of ["SIGKILL", "SIGTERM"] as const) {
      await restart(signal);
      await withClients(broker.url, async ({ admin, consumer }) => {
        assert.is(await code(admin.topicStatus("Doomed")), "TOPIC_NOT_FOUND", `after a ${signal}`);
        assert.not.ok((await admin.topicList({ system: false })).some((t) => t.topic === "Doomed" || t.topic === "%RETRY%Gone"), `after a ${signal}`);
        assert.equal(await admin.queryMessage({ msgId: oldId }), [], `after a ${signal}`);
        assert.is(await consumer.queryOffset({ topic: "Doomed", queueId: 0 }), -1, `after a ${signal}`);
        assert.is(await code(admin.consumerProgress("Gone")), "BAD_REQUEST", `after a ${signal}`);
        assert.is((await admin.getSubscriptionGroup("Gone")).maxReconsumeTimes, 16, `after a ${signal}`);
        assert.is(await consumer.queryOffset({ topic: "Kept", queueId: 0 }), 1, `after a ${signal}`);
      });
    }

    // The name again: a new topic, from offset 0, nothing of the old one.
    await withClients(broker.url, async ({ admin, producer, consumer }) => {
      await admin.createTopic("Doomed", 1);
      const r = await producer.send({ topic: "Doomed", body: "new-0" });
      assert.is(r.queueOffset, 0);
      const p = await consumer.pull({ topic: "Doomed", queueId: 0, offset: 0 });
      assert.equal(p.msgs.map((m) => (typeof m.body === "string" ? m.body : new TextDecoder().decode(m.body))), ["new-0"]);
    });
    await restart("SIGKILL");
    await withClients(broker.url, async ({ admin }) => {
      const s = await admin.topicStatus("Doomed");
      assert.equal(s.queues.map((q) => [q.minOffset, q.maxOffset]), [[0, 1]], "one queue, one message");
    });
  } finally {
    broker.child.kill("SIGKILL");
    await broker.exited;
    dir.remove();
  }
});

test("what waited for a deleted topic (a delay level, a timer, a transaction) is never delivered into the topic made again", async () => {
  const env = await startBroker();
  const admin = new Admin({ endpoints: env.url });
  const producer = new Producer({ endpoints: env.url, group: "pg" });
  let decide: (s: "COMMIT") => void = () => {};
  const tp = new TransactionProducer({ endpoints: env.url, group: "tpg", check: () => "UNKNOWN" });
  await Promise.all([admin.start(), producer.start(), tp.start()]);
  try {
    for (const topic of ["Later", "Control"]) {
      await admin.createTopic(topic, 1);
      await producer.send({ topic, body: `${topic} delayed`, delayLevel: 1 });
      await producer.send({ topic, body: `${topic} timed`, deliverAt: Date.now() + 1500 });
    }
    const tx = tp.sendInTransaction({ topic: "Later", body: "committed after the deletion" }, () => new Promise((r) => (decide = r)));
    await until("the half message stored", () => env.broker.observer.transactionsInFlight() === 1, 10_000);
    await admin.deleteTopic("Later");
    await admin.createTopic("Later", 1);
    decide("COMMIT");
    assert.is((await tx).localTransactionState, "COMMIT");
    await until("the control topic's delayed and timed messages", async () => (await admin.topicStatus("Control")).queues[0].maxOffset === 2, 15_000, 50);
    // The control's are due no earlier than the deleted topic's: had those been delivered, they would be there by now.
    assert.is((await admin.topicStatus("Later")).queues[0].maxOffset, 0, "nothing of the old topic reached the new one");
  } finally {
    await Promise.allSettled([admin.shutdown(), producer.shutdown(), tp.shutdown()]);
    await env.stop();
  }
});

test("through a name server: deleteTopic on every broker that holds it, deleteSubGroup on every broker", async () => {
  const cluster = await startCluster({ brokers: 2 });
  const admin = new Admin({ endpoints: cluster.url });
  try {
    await cluster.waitForBrokers(["b1", "b2"]);
    await admin.start();
    await admin.createTopic("Spread", 2);
    await admin.createTopic("OnlyB1", 1, undefined, ["b1"]);
    await admin.createTopic("%RETRY%CG", 1);
    const r = await admin.deleteTopic("Spread");
    assert.equal(r.brokers?.map((b) => b.broker).sort(), ["b1", "b2"]);
    assert.ok(r.brokers?.every((b) => b.code === undefined), JSON.stringify(r.brokers));
    const only = await admin.deleteTopic("OnlyB1");
    assert.equal(only.brokers?.map((b) => b.broker), ["b1"], "only the broker that holds it");
    assert.is(await code(admin.deleteTopic("Spread")), "TOPIC_NOT_FOUND", "the routes dropped it at once");
    for (const b of cluster.brokers) {
      const direct = new Admin({ endpoints: b.proc.url });
      await direct.start();
      assert.not.ok((await direct.topicList()).some((t) => t.topic === "Spread" || t.topic === "OnlyB1"), b.name);
      await direct.shutdown();
    }
    const g = await admin.deleteSubGroup("CG");
    assert.equal(g.topicsDeleted, ["%RETRY%CG"]);
    assert.equal(g.brokers?.map((b) => b.broker).sort(), ["b1", "b2"]);
    const c = await admin.clusterList();
    for (const b of c.brokers) assert.not.ok(b.topicNames?.some((t) => t === "Spread" || t === "%RETRY%CG"), `${b.name}: ${b.topicNames}`);
  } finally {
    await admin.shutdown();
    await cluster.stop();
  }
});

test.run();
