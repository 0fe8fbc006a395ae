// --auto-create-topics false (RocketMQ's autoCreateTopicEnable=false): a send to a topic that does
// not exist is TOPIC_NOT_FOUND and creates nothing; a created topic works as before; the broker's
// own topics (retry, offsets) are still created when needed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Admin, Producer, PullConsumer } from "../client/mod.ts";
import { BrokerError } from "../protocol/mod.ts";
import { startBroker } from "./helpers/broker.ts";

test("auto-creation off: a misspelt topic is refused and not created; created topics and system topics work", async () => {
  const env = await startBroker({ autoCreateTopics: false });
  const admin = new Admin({ endpoints: env.url });
  const producer = new Producer({ endpoints: env.url, group: "pg", retryTimesWhenSendFailed: 0 });
  const consumer = new PullConsumer({ endpoints: env.url, group: "cg" });
  await Promise.all([admin.start(), producer.start(), consumer.start()]);
  try {
    const err = await producer.send({ topic: "Ordres", body: "x" }).then(() => null, (e) => e);
    assert.instance(err, BrokerError);
    assert.is(err.code, "TOPIC_NOT_FOUND");
    assert.match(err.message, /--auto-create-topics/);
    assert.not.ok((await admin.topicList()).some((t) => t.topic === "Ordres"), "nothing was created");

    await admin.createTopic("Orders", 2);
    const ok = await producer.send({ topic: "Orders", body: "x" });
    assert.is(ok.status, "SEND_OK");
    // An offset commit creates the broker's offsets topic whatever the flag says.
    await consumer.commitOffset({ topic: "Orders", queueId: ok.queue.queueId, offset: 1 });
    assert.is(await consumer.queryOffset({ topic: "Orders", queueId: ok.queue.queueId }), 1);
  } finally {
    await Promise.allSettled([admin.shutdown(), producer.shutdown(), consumer.shutdown()]);
    await env.stop();
  }
});

test.run();
