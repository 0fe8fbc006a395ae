// Send a message, then read it in a new consumer group.
// Node 20+: node quick-start.mjs | Deno: deno run -A quick-start.mjs
import { Producer, PushConsumer } from "actormq";

const endpoints = "ws://127.0.0.1:9876"; // the broker `npx actormq` started

const producer = new Producer({ endpoints });
await producer.start();
const sent = await producer.send({ topic: "Orders", body: "hello", tags: "paid", keys: ["order-1"] });
console.log(`sent ${sent.msgId} to ${sent.queue.topic} queue ${sent.queue.queueId}`);
await producer.shutdown();

// A new group reads a queue from its first message while that message is still stored
// (RocketMQ's consumeFrom "last"), so it gets what was sent before it started.
const consumer = new PushConsumer({ endpoints, group: "quick-start", subscriptions: { Orders: "paid || refunded" } });
for await (const msg of consumer.messages({ max: 1 })) {
  console.log(`received "${msg.body}" (${msg.id}, tags ${msg.tags}, queue ${msg.queueId} offset ${msg.queueOffset})`);
}
// One message taken and consumed: the loop ended and the consumer stopped.
